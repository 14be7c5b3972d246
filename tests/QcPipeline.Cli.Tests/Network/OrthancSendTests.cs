using System.Diagnostics;
using System.Text;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Tests.Network;
using Xunit.Abstractions;

namespace QcPipeline.Cli.Tests.Network;

/// <summary><c>qc send</c> to a real Orthanc (C-STORE SCP): every instance arrives in its own transfer syntax with
/// the same data set.</summary>
[Collection(OrthancCollection.Name)]
public sealed class OrthancSendTests(OrthancFixture orthanc, ITestOutputHelper output)
{
    private static readonly DicomTag PixelData = new(0x7FE00010);

    /// <summary>Pixel Data's bytes: the value, or the fragments in order (encapsulated); empty without pixel data.</summary>
    private static byte[] PixelBytes(DicomDataset ds) => ds[PixelData] switch
    {
        DicomElement e => e.Data.ToArray(),
        DicomFragmentSequence f => [.. f.Fragments.SelectMany(x => x.ToArray())],
        _ => [],
    };

    [Fact]
    public async Task Qc_send_stores_the_RLE_series_and_uncompressed_files_in_Orthanc_unchanged()
    {
        using var input = new CliRunner.TempDir();
        using var fetched = new CliRunner.TempDir();
        foreach (var f in Peers.CtSeries) File.Copy(f, input.File(Path.GetFileName(f)));
        foreach (var name in new[] { "CT_small.dcm", "rtplan.dcm" }) File.Copy(CliRunner.Pydicom(name), input.File(name));
        var originals = Directory.GetFiles(input.Path, "*.dcm").Order(StringComparer.Ordinal).ToArray();

        var sw = Stopwatch.StartNew();
        // Orthanc accepts C-STORE only from its known modalities: qcscu is AE QCSCU on 127.0.0.1.
        var r = CliRunner.Run("send", "127.0.0.1", Peers.Port(orthanc.DicomPort), input.Path, "--aec", "ORTHANC", "--aet", "QCSCU", "--no-progress");
        output.WriteLine($"qc send of {originals.Length} files: {sw.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(r.ExitCode == 0, r.Out + r.Error + orthanc.Log);
        Assert.StartsWith($"sent {originals.Length}, warnings 0, failed 0; ", r.Out, StringComparison.Ordinal);

        Assert.Equal(originals.Length, (await orthanc.GetJson("instances")).GetArrayLength());
        foreach (var original in originals)
        {
            string sop;
            TransferSyntax ts;
            using (var o = DicomFile.Open(original, DicomReadOptions.HeaderOnly))
            {
                sop = o.Dataset.GetString(DicomTags.SOPInstanceUID)!;
                ts = o.TransferSyntax;
            }
            var found = await orthanc.SendJson(HttpMethod.Post, "tools/lookup", new StringContent(sop, Encoding.UTF8, "text/plain"));
            var hit = Assert.Single(found.EnumerateArray(), e => e.GetProperty("Type").GetString() == "Instance");
            var id = hit.GetProperty("ID").GetString()!;

            var copy = fetched.File(Path.GetFileName(original));
            await File.WriteAllBytesAsync(copy, await orthanc.Http.GetByteArrayAsync(new Uri($"instances/{id}/file", UriKind.Relative)));
            var metadataTs = await orthanc.Http.GetStringAsync(new Uri($"instances/{id}/metadata/TransferSyntax", UriKind.Relative));
            Assert.Equal(ts.Uid, metadataTs.Trim());

            using var c = DicomFile.Open(copy);
            using var full = DicomFile.Open(original);
            Assert.Equal(sop, c.Dataset.GetString(DicomTags.SOPInstanceUID));
            Assert.Equal(ts, c.TransferSyntax);
            await DcmdumpCompare.AssertSameDataset(original, copy);
            Assert.True(PixelBytes(full.Dataset).SequenceEqual(PixelBytes(c.Dataset)), $"pixel data of {original} differs");
        }
    }
}
