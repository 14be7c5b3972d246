using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Tests;

/// <summary>The Part 10 input of the ingest path (what STOW-RS feeds it), driven directly: transfer syntax from the File
/// Meta Information, data set bytes counted and hashed without the header, the sender's preamble not kept.</summary>
public sealed class StowIngestTests
{
    private static string Corpus(string id) => Path.Combine("/usr/lib/python3/dist-packages/pydicom/data", id);

    private static string IndexedTransferSyntax(string dbPath, string sop)
    {
        using var c = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT TransferSyntaxUid FROM Instances WHERE SopInstanceUid = $s";
        cmd.Parameters.AddWithValue("$s", sop);
        return (string)cmd.ExecuteScalar()!;
    }

    [Theory]
    [InlineData("test_files/MR_small_RLE.dcm", "1.2.840.10008.1.2.5", 1000)]
    [InlineData("test_files/CT_small.dcm", "1.2.840.10008.1.2.1", 1000)] // its preamble is a TIFF header
    [InlineData("test_files/CT_small.dcm", "1.2.840.10008.1.2.1", 7)]    // the meta group length arrives split over writes
    [InlineData("test_files/CT_small.dcm", "1.2.840.10008.1.2.1", 65536)]
    [InlineData("test_files/image_dfl.dcm", "1.2.840.10008.1.2.1.99", 1000)]
    public async Task A_Part10_file_is_indexed_with_its_meta_transfer_syntax_and_its_data_set_hash(string id, string ts, int chunk)
    {
        await using var svc = await InProcessService.StartAsync();
        var ingest = svc.Services.GetRequiredService<IngestService>();
        var path = Corpus(id);
        var bytes = await File.ReadAllBytesAsync(path);
        long offset;
        using (var f = DicomFile.Open(path, DicomReadOptions.HeaderOnly)) offset = f.DatasetOffset;

        IngestResult result;
        await using (var incoming = await ingest.BeginAsync(new IngestRequest(IngestSource.Stow, null, null, null, "", InputIsPart10: true)))
        {
            for (int i = 0; i < bytes.Length; i += chunk) await incoming.WriteAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i)));
            result = await incoming.CompleteAsync();
        }
        Assert.True(result.IsSuccess, result.Reason);
        var (cls, sop, study, series) = StowSupport.Uids(path);
        Assert.Equal((cls, sop, study, series), (result.SopClassUid, result.SopInstanceUid, result.StudyInstanceUid, result.SeriesInstanceUid));
        Assert.Equal(bytes.Length - offset, result.DatasetBytes);
        Assert.Equal(ts, IndexedTransferSyntax(svc.DbPath, sop));
        var row = Assert.Single(Support.Rows(svc.DbPath));
        Assert.Equal(Support.DatasetSha256(path), row.Sha256);
        var stored = await File.ReadAllBytesAsync(Path.Combine(svc.DataPath, row.Path));
        Assert.True(stored.AsSpan(0, 128).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(bytes.AsSpan(128).SequenceEqual(stored.AsSpan(128)));
    }

    /// <summary>A File Meta Information without its group length (0002,0000), which the reader tolerates: the data set's start
    /// is not known while the bytes stream, so the hash is taken from the file; it must be the same.</summary>
    [Fact]
    public async Task A_Part10_file_without_meta_group_length_is_hashed_from_the_file()
    {
        await using var svc = await InProcessService.StartAsync();
        var ingest = svc.Services.GetRequiredService<IngestService>();
        var original = await File.ReadAllBytesAsync(Corpus("test_files/CT_small.dcm"));
        Assert.True(original.AsSpan(132, 6).SequenceEqual((ReadOnlySpan<byte>)[0x02, 0x00, 0x00, 0x00, (byte)'U', (byte)'L']));
        byte[] bytes = [.. original.AsSpan(0, 132), .. original.AsSpan(144)]; // (0002,0000) UL 4 removed
        var path = Path.Combine(svc.DataPath, "no-group-length.dcm");
        await File.WriteAllBytesAsync(path, bytes);

        IngestResult result;
        await using (var incoming = await ingest.BeginAsync(new IngestRequest(IngestSource.Stow, null, null, null, "", InputIsPart10: true)))
        {
            await incoming.WriteAsync(bytes);
            result = await incoming.CompleteAsync();
        }
        Assert.True(result.IsSuccess, result.Reason);
        var row = Assert.Single(Support.Rows(svc.DbPath));
        Assert.Equal(Support.DatasetSha256(path), row.Sha256);
        Assert.Equal(Support.DatasetSha256(Corpus("test_files/CT_small.dcm")), row.Sha256);
    }

    [Fact]
    public async Task The_expected_study_is_checked_before_anything_is_visible()
    {
        await using var svc = await InProcessService.StartAsync();
        var ingest = svc.Services.GetRequiredService<IngestService>();
        var bytes = await File.ReadAllBytesAsync(Corpus("test_files/CT_small.dcm"));
        IngestResult result;
        await using (var incoming = await ingest.BeginAsync(new IngestRequest(IngestSource.Stow, null, null, null, "", InputIsPart10: true)
                     { ExpectedStudyInstanceUid = "1.2.3.4" }))
        {
            await incoming.WriteAsync(bytes);
            result = await incoming.CompleteAsync();
        }
        Assert.False(result.IsSuccess);
        Assert.Equal(IngestStatus.StudyInstanceUidMismatch, result.DicomStatus);
        Assert.Empty(Support.Rows(svc.DbPath));
        Assert.Empty(StowSupport.StoredFiles(svc.DataPath));
        Assert.Empty(StowSupport.TempFiles(svc.DataPath));
    }
}
