using System.Text;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>One CT slice in every transfer syntax storescu can propose, each made by an independent encoder:
/// DCMTK (dcmdrle, dcmconv, dcmcrle, dcmcjpeg, dcmcjpls) and OpenJPEG (opj_compress, wrapped by our toolkit since
/// DCMTK 3.6.7 has no JPEG 2000 encoder).</summary>
public sealed class TransferSyntaxInputs : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("qc-ts-inputs-").FullName;
    private readonly Dictionary<string, string> _files = [];

    public TransferSyntaxInputs()
    {
        string P(string name) => Path.Combine(Directory, name);
        void Run(string tool, params string[] args)
        {
            var r = PeerTool.RunAsync(tool, args, TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
            if (r.ExitCode != 0) throw new InvalidOperationException(r.ToString());
        }
        // The phantom is RLE; the uncompressed explicit LE source every other input is made from.
        Run("dcmdrle", PeerInputs.PhantomCt(1), P("le.dcm"));
        _files["le"] = P("le.dcm");
        Run("dcmconv", "+ti", P("le.dcm"), P("implicit.dcm"));
        _files["implicit"] = P("implicit.dcm");
        Run("dcmconv", "+tb", P("le.dcm"), P("big.dcm"));
        _files["big"] = P("big.dcm");
        Run("dcmconv", "+td", P("le.dcm"), P("deflated.dcm"));
        _files["deflated"] = P("deflated.dcm");
        Run("dcmcrle", P("le.dcm"), P("rle.dcm"));
        _files["rle"] = P("rle.dcm");
        Run("dcmcjpeg", "+e1", P("le.dcm"), P("jpeg-sv1.dcm")); // JPEG Lossless, first-order prediction (SV1)
        _files["jpeg-sv1"] = P("jpeg-sv1.dcm");
        Run("dcmcjpls", "+el", P("le.dcm"), P("jpeg-ls.dcm"));
        _files["jpeg-ls"] = P("jpeg-ls.dcm");
        _files["j2k"] = MakeJpeg2000(P("le.dcm"), P("j2k.dcm"), Run);
    }

    public string this[string key] => _files[key];

    /// <summary>opj_compress (reversible 5/3 wavelet: lossless) codes the frame as a 16-bit PGM; our toolkit wraps
    /// the codestream as the single fragment of encapsulated pixel data (PS3.5 §A.4.4).</summary>
    private static string MakeJpeg2000(string native, string output, Action<string, string[]> run)
    {
        using var file = DicomFile.Open(native);
        var ds = file.Dataset;
        var px = DicomPixelData.Create(ds);
        Assert.True(ds.TryGetInt32(DicomTags.PixelRepresentation, out var pr) && pr == 0, "the PGM route needs unsigned samples");
        Assert.True(ds.TryGetInt32(DicomTags.BitsStored, out var bits) && bits <= 16);
        var frame = px.GetNativeFrame(0).ToArray();
        var dir = Path.GetDirectoryName(output)!;
        var pgm = Path.Combine(dir, "frame.pgm");
        using (var fs = File.Create(pgm))
        {
            fs.Write(Encoding.ASCII.GetBytes($"P5\n{px.Columns} {px.Rows}\n{(1 << bits) - 1}\n"));
            var be = new byte[frame.Length];
            for (int i = 0; i < frame.Length; i += 2) { be[i] = frame[i + 1]; be[i + 1] = frame[i]; }
            fs.Write(be);
        }
        var j2k = Path.Combine(dir, "frame.j2k");
        run("opj_compress", ["-i", pgm, "-o", j2k]);
        var encapsulated = ds.Clone();
        encapsulated.AddOrUpdate(new DicomFragmentSequence(DicomTags.PixelData, DicomVR.OB, ReadOnlyMemory<byte>.Empty, [File.ReadAllBytes(j2k)]));
        new DicomFile(encapsulated, null, TransferSyntax.Jpeg2000Lossless).Save(output, TransferSyntax.Jpeg2000Lossless);
        return output;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>DCMTK's storescu sends into <see cref="DicomServer"/> with each transfer syntax option; the instance
/// is written as Part 10 by <see cref="FileStoreHandler"/> and DCMTK reads back the same data set.</summary>
public sealed class StorescuTransferSyntaxTests(TransferSyntaxInputs inputs, ITestOutputHelper output) : IClassFixture<TransferSyntaxInputs>, IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("qc-storescu-ts-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    public static TheoryData<string, string, string, string?> Cases => new()
    {
        // option, input, expected negotiated syntax, syntax the server prefers (null: the default preference list)
        { "-xi", "implicit", DicomUids.ImplicitVRLittleEndian, null },
        { "-xe", "le", DicomUids.ExplicitVRLittleEndian, null },
        // -xb proposes big endian, explicit LE and implicit LE in one context; our default prefers explicit LE, so
        // this case runs a server that prefers big endian (the default choice is checked separately).
        { "-xb", "big", DicomUids.ExplicitVRBigEndian, DicomUids.ExplicitVRBigEndian },
        // -xd and the compressed options propose their syntax in a context of its own (uncompressed ones in another).
        { "-xd", "deflated", DicomUids.DeflatedExplicitVRLittleEndian, null },
        { "-xr", "rle", DicomUids.RLELossless, null },
        { "-xs", "jpeg-sv1", DicomUids.JPEGLosslessSV1, null },
        { "-xt", "jpeg-ls", DicomUids.JPEGLSLossless, null },
        { "-xv", "j2k", DicomUids.JPEG2000Lossless, null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Storescu_stores_in_the_proposed_syntax_and_the_data_set_arrives_intact(string option, string input, string expectedTs, string? preferred)
    {
        var source = inputs[input];
        var handler = new FileStoreHandler(Path.Combine(_out, "store"));
        var options = new DicomServerOptions { AeTitle = "QCPIPE" };
        if (preferred is not null) options = options with { TransferSyntaxes = [preferred, .. DicomServerOptions.DefaultTransferSyntaxes.Where(t => t != preferred)] };
        await using var server = new TestServer(options, handler);

        var r = await PeerTool.RunAsync("storescu", [option, "-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", server.PortText, source]);
        output.WriteLine(r.ToString());
        Assert.True(r.ExitCode == 0, r.ToString());

        var summary = Assert.Single(await server.WaitForSummaries(1));
        Assert.Equal(AssociationOutcome.Released, summary.Outcome);
        Assert.Equal(1, summary.StoreCount);
        Assert.Equal(0, summary.StoreFailures);

        var (request, path) = Assert.Single(handler.Stored);
        Assert.Equal(expectedTs, request.TransferSyntaxUid);
        Assert.Equal("QCTEST", request.Association.CallingAeTitle);
        Assert.Single(handler.FinalFiles());
        Assert.Empty(handler.PartialFiles());

        // The stored file is Part 10 in the negotiated syntax, and DCMTK reads back the sender's data set.
        using (var stored = DicomFile.Open(path))
        {
            Assert.Equal(expectedTs, stored.TransferSyntax.Uid);
            Assert.Equal(request.SopInstanceUid, stored.FileMetaInformation.GetString(new DicomTag(0x00020003)));
            Assert.Equal(request.SopInstanceUid, stored.Dataset.GetString(DicomTags.SOPInstanceUID));
        }
        await DcmdumpCompare.AssertSameDataset(source, path);
    }

    [Fact]
    public async Task Default_preference_picks_explicit_little_endian_when_big_endian_is_proposed_first()
    {
        const string option = "-xb";
        var handler = new FileStoreHandler(Path.Combine(_out, "store"));
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, handler);
        var r = await PeerTool.RunAsync("storescu", [option, "-aec", "QCPIPE", "127.0.0.1", server.PortText, inputs["le"]]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var (request, path) = Assert.Single(handler.Stored);
        Assert.Equal(DicomUids.ExplicitVRLittleEndian, request.TransferSyntaxUid);
        await DcmdumpCompare.AssertSameDataset(inputs["le"], path);
    }
}
