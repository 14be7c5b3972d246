using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service.Index;
using static QcPipeline.Service.Tests.DicomWebReadClient;

namespace QcPipeline.Service.Tests;

/// <summary>The index columns behind QIDO-RS: rows of an older database are filled in by start-up reconciliation, and the
/// HTTP sender's identity (Client) is kept.</summary>
public sealed class DicomWebReadIndexTests
{
    [Fact]
    public async Task DicomWebRead_rows_without_query_attributes_are_backfilled_from_their_files_at_start()
    {
        var data = Support.NewTempDir("qcdwb");
        var input = Support.NewTempDir("qcdwbi");
        try
        {
            var files = Support.MakeCtFiles(input, 2);
            await using (var svc = await InProcessService.StartAsync(data, "--Storage:Fsync=false"))
            {
                var r = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path));
                Assert.True(r.ExitCode == 0, r.All);
            }
            // What a database from before the QIDO columns holds after the migration: nulls and the flag unset.
            using (var c = new SqliteConnection($"Data Source={Path.Combine(data, "qc.db")};Pooling=False"))
            {
                c.Open();
                using var cmd = c.CreateCommand();
                cmd.CommandText = """UPDATE "Instances" SET "PatientName" = NULL, "StudyDate" = NULL, "Rows" = NULL, "HasQueryAttributes" = 0""";
                Assert.Equal(2, cmd.ExecuteNonQuery());
            }
            await using (var svc = await InProcessService.StartAsync(data, "--Storage:Fsync=false"))
            {
                using var http = svc.CreateHttpClient();
                var instances = await GetJsonArrayAsync(http, $"/dicom-web/studies/{files[0].StudyUid}/instances?includefield=all");
                Assert.Equal(2, instances.GetArrayLength());
                foreach (var i in instances.EnumerateArray())
                {
                    Assert.Equal("512", Value(i, "00280010"));
                    Assert.NotNull(Value(i, "00080020"));
                }
                var rows = Support.Rows(svc.DbPath);
                Assert.All(rows, row => Assert.Equal(1, row.Version)); // filled in, not replaced
                Assert.All(rows, row => Assert.Equal("dimse", row.Source));
            }
        }
        finally
        {
            Support.TryDeleteDir(data);
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task DicomWebRead_the_client_identity_of_an_entry_is_stored_in_the_Client_column()
    {
        await using var svc = await InProcessService.StartAsync();
        var writer = svc.Services.GetRequiredService<IndexWriter>();
        var sop = Support.NewUid();
        var entry = new IndexEntry(sop, "1.2.840.10008.5.1.4.1.1.7", Support.NewUid(), Support.NewUid(), "OT", "1.2.840.10008.1.2.1",
            "instances/x/y/z.dcm", 10, new string('0', 64), DateTimeOffset.UtcNow, "stow", null,
            new IndexAttributes { PatientName = "王^小明", StationName = "ST1" }, Client: "api-key:modality-7");
        Assert.Equal(IndexCommitKind.Inserted, (await writer.CommitAsync(entry)).Kind);
        using var c = new SqliteConnection($"Data Source={svc.DbPath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """SELECT "Client", "PatientName", "StationName", "HasQueryAttributes" FROM "Instances" WHERE "SopInstanceUid" = $sop""";
        cmd.Parameters.AddWithValue("$sop", sop);
        using var r = cmd.ExecuteReader();
        Assert.True(r.Read());
        Assert.Equal("api-key:modality-7", r.GetString(0));
        Assert.Equal("王^小明", r.GetString(1));
        Assert.Equal("ST1", r.GetString(2));
        Assert.True(r.GetBoolean(3));
    }

    [Fact]
    public async Task DicomWebRead_a_replaced_instance_is_found_by_its_new_values_only()
    {
        var input = Support.NewTempDir("qcdwx");
        try
        {
            string study = Support.NewUid(), series = Support.NewUid(), sop = Support.NewUid();
            var first = Path.Combine(input, "v1.dcm");
            var second = Path.Combine(input, "v2.dcm");
            Support.WriteVariant(first, study, series, sop, 1, "first version");
            Support.WriteVariant(second, study, series, sop, 1, "second version");
            await using var svc = await InProcessService.StartAsync(extraArgs: ["--Storage:Fsync=false"]);
            Assert.Equal(0, (await Support.StoreScuAsync(svc.DicomPort, [first])).ExitCode);
            Assert.Equal(0, (await Support.StoreScuAsync(svc.DicomPort, [second])).ExitCode);
            Assert.Equal(2, Assert.Single(Support.Rows(svc.DbPath)).Version); // replaced through the EF path of the writer
            using var http = svc.CreateHttpClient();
            var hit = await GetJsonArrayAsync(http, $"/dicom-web/studies/{study}/series?SeriesDescription=second*");
            Assert.Equal("second version", Value(Assert.Single(hit.EnumerateArray()), "0008103E"));
            Assert.Equal(0, (await GetJsonArrayAsync(http, $"/dicom-web/studies/{study}/series?SeriesDescription=first*")).GetArrayLength());
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
