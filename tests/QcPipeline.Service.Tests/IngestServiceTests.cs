using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;
using QcPipeline.Service.Ingest;

namespace QcPipeline.Service.Tests;

/// <summary>The shared ingest path driven directly (as STOW-RS will): rejections, abandon, Part 10 input.</summary>
public sealed class IngestServiceTests : IAsyncLifetime
{
    private InProcessService _svc = null!;
    private string _input = null!;

    public async Task InitializeAsync()
    {
        _svc = await InProcessService.StartAsync();
        _input = Support.NewTempDir("qcin");
    }

    public async Task DisposeAsync()
    {
        await _svc.DisposeAsync();
        Support.TryDeleteDir(_input);
    }

    private IngestService Ingest => _svc.Services.GetRequiredService<IngestService>();

    private static (byte[] Dataset, byte[] Whole) Bytes(string path)
    {
        var whole = File.ReadAllBytes(path);
        using var f = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        return (whole[(int)f.DatasetOffset..], whole);
    }

    private async Task<IngestResult> IngestBare(byte[] dataset, string sopClass, string sopInstance, int chunk = 16384)
    {
        await using var incoming = await Ingest.BeginAsync(new IngestRequest(IngestSource.Dimse, "TESTAE", sopClass, sopInstance, DicomUids.ExplicitVRLittleEndian));
        for (int i = 0; i < dataset.Length; i += chunk)
            await incoming.WriteAsync(dataset.AsMemory(i, Math.Min(chunk, dataset.Length - i)));
        return await incoming.CompleteAsync();
    }

    private void AssertNothingStored()
    {
        Assert.Empty(Directory.GetFiles(Path.Combine(_svc.DataPath, "instances"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.Combine(_svc.DataPath, "tmp")));
        Assert.Empty(Support.Rows(_svc.DbPath));
    }

    [Fact]
    public async Task Rejections_carry_the_storage_status_and_leave_nothing()
    {
        var f = Support.MakeCtFiles(_input, 1)[0];
        var (ds, _) = Bytes(f.Path);

        var r = await IngestBare(ds, DicomUids.SecondaryCaptureImageStorage, f.SopInstanceUid);
        Assert.Equal((IngestOutcome.Rejected, DicomStatus.DataSetDoesNotMatchSopClass, IngestFailure.Mismatch), (r.Outcome, r.DicomStatus, r.FailureReason));

        r = await IngestBare(ds, DicomUids.CTImageStorage, Support.NewUid());
        Assert.Equal((IngestOutcome.Rejected, DicomStatus.CannotUnderstand, IngestFailure.Mismatch), (r.Outcome, r.DicomStatus, r.FailureReason));
        Assert.DoesNotContain(f.SopInstanceUid, r.Reason!, StringComparison.Ordinal);

        var bad = Path.Combine(_input, "bad-study.dcm");
        Support.WriteVariant(bad, "1.2..3", f.SeriesUid, f.SopInstanceUid, 1, null);
        r = await IngestBare(Bytes(bad).Dataset, DicomUids.CTImageStorage, f.SopInstanceUid);
        Assert.Equal((IngestOutcome.Rejected, DicomStatus.InvalidSopInstance, IngestFailure.InvalidUid), (r.Outcome, r.DicomStatus, r.FailureReason));

        // (0008,0016) UI claiming 0x7FFF bytes that never come.
        byte[] garbage = [0x08, 0x00, 0x16, 0x00, (byte)'U', (byte)'I', 0xFF, 0x7F, 1, 2, 3, 4, 5, 6, 7, 8];
        r = await IngestBare(garbage, DicomUids.CTImageStorage, f.SopInstanceUid);
        Assert.Equal((IngestOutcome.Rejected, DicomStatus.CannotUnderstand, IngestFailure.Unparsable), (r.Outcome, r.DicomStatus, r.FailureReason));

        AssertNothingStored();
        Assert.Equal(4, _svc.Metrics.IngestTotal.WithLabels("rejected").Value);
        Assert.Equal(2, _svc.Metrics.IngestFailuresTotal.WithLabels("mismatch").Value);
    }

    [Fact]
    public async Task A_data_set_cut_short_inside_its_pixel_data_is_refused()
    {
        var f = Support.MakeCtFiles(_input, 1)[0];
        var (ds, _) = Bytes(f.Path);
        var r = await IngestBare(ds[..(ds.Length - 1000)], DicomUids.CTImageStorage, f.SopInstanceUid);
        Assert.Equal((IngestOutcome.Rejected, DicomStatus.CannotUnderstand), (r.Outcome, r.DicomStatus));
        Assert.Contains("truncated", r.Reason);
        AssertNothingStored();

        // The whole data set is stored.
        r = await IngestBare(ds, DicomUids.CTImageStorage, f.SopInstanceUid);
        Assert.Equal(IngestOutcome.Stored, r.Outcome);
    }

    [Fact]
    public async Task A_duplicate_is_judged_by_the_stored_file_not_by_its_index_row_alone()
    {
        var f = Support.MakeCtFiles(_input, 1)[0];
        var (ds, _) = Bytes(f.Path);
        var r = await IngestBare(ds, DicomUids.CTImageStorage, f.SopInstanceUid);
        Assert.Equal(IngestOutcome.Stored, r.Outcome);
        var stored = Path.Combine(_svc.DataPath, r.RelativePath!);

        // The state a replacement leaves when its rename succeeded but its commit failed: other bytes than the row says.
        var changed = File.ReadAllBytes(stored);
        changed[^1] ^= 0xFF;
        File.WriteAllBytes(stored, changed);

        r = await IngestBare(ds, DicomUids.CTImageStorage, f.SopInstanceUid);
        Assert.True(r.IsSuccess);
        var back = File.ReadAllBytes(stored);
        Assert.True(back.AsSpan(back.Length - ds.Length).SequenceEqual(ds), "the file holds the data set that was answered with success");
        Assert.Single(Support.Rows(_svc.DbPath));
    }

    [Theory]
    [InlineData("1.2.840.10008.5.1.4.1.1.2", true)]
    [InlineData("0", true)]
    [InlineData("2.25.0", true)]
    [InlineData("", false)]
    [InlineData("1..2", false)]
    [InlineData(".1.2", false)]
    [InlineData("1.2.", false)]
    [InlineData("1.02", true)] // leading zeros are invalid PS3.5 syntax but harmless as a name: accepted
    [InlineData("1.2/../3", false)]
    [InlineData("..", false)]
    [InlineData("1.2.3 ", false)]
    [InlineData("12345678901234567890123456789012345678901234567890123456789012345", false)]
    public void Uids_that_name_files_are_digits_and_single_dots(string uid, bool valid) => Assert.Equal(valid, UidRules.IsValid(uid));

    [Fact]
    public async Task Abandoned_instance_leaves_no_temp_file()
    {
        var f = Support.MakeCtFiles(_input, 1)[0];
        var (ds, _) = Bytes(f.Path);
        await using (var incoming = await Ingest.BeginAsync(new IngestRequest(IngestSource.Dimse, "TESTAE", DicomUids.CTImageStorage, f.SopInstanceUid, DicomUids.ExplicitVRLittleEndian)))
        {
            await incoming.WriteAsync(ds.AsMemory(0, ds.Length / 2));
            Assert.Single(Directory.GetFiles(Path.Combine(_svc.DataPath, "tmp")));
        }
        AssertNothingStored();
    }

    [Fact]
    public async Task Part10_input_and_a_bare_data_set_of_the_same_content_hash_alike()
    {
        var f = Support.MakeCtFiles(_input, 1)[0];
        var (ds, whole) = Bytes(f.Path);
        IngestResult r;
        await using (var incoming = await Ingest.BeginAsync(new IngestRequest(IngestSource.Stow, null, null, null, "", InputIsPart10: true)))
        {
            await incoming.WriteAsync(whole);
            r = await incoming.CompleteAsync();
        }
        Assert.Equal(IngestOutcome.Stored, r.Outcome);
        var row = Assert.Single(Support.Rows(_svc.DbPath));
        Assert.Equal("stow", row.Source);

        r = await IngestBare(ds, DicomUids.CTImageStorage, f.SopInstanceUid, chunk: 1000);
        Assert.Equal(IngestOutcome.Duplicate, r.Outcome);
        Assert.Equal(row.Sha256, Assert.Single(Support.Rows(_svc.DbPath)).Sha256);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(ds)), row.Sha256);
    }

    [Theory]
    [InlineData(128, 128)]
    [InlineData(300, 128)]
    [InlineData(127, 127)]
    public void A_client_identity_is_cut_to_the_index_column(int length, int kept)
    {
        var name = new string('k', length);
        var r = new IngestRequest(IngestSource.Stow, null, null, null, "", true) { Client = name };
        Assert.Equal(name[..kept], r.Client);
        Assert.True(r.Client!.Length <= IngestRequest.ClientMaxLength);
    }

    [Fact]
    public void A_cut_client_identity_never_ends_in_half_a_surrogate_pair()
    {
        var name = new string('k', 127) + "\U0001F600" + "tail"; // the emoji's high surrogate is character 128
        var r = new IngestRequest(IngestSource.Stow, null, null, null, "", true) { Client = name };
        Assert.Equal(new string('k', 127), r.Client);
    }
}
