using Npgsql;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>The index on a real PostgreSQL (Debian package, a private cluster started by <see cref="PostgresFixture"/>):
/// migrations at start, C-STORE from DCMTK indexed exactly once, duplicates and replacements, and a database outage
/// answered with a failure status (never a success) while the service keeps running.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresIndexTests(PostgresFixture pg, ITestOutputHelper output)
{
    private sealed record PgRow(string SopInstanceUid, string Path, long Size, string Sha256, int Version, string Source, string? CallingAe);

    private static async Task<List<PgRow>> RowsAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("""SELECT "SopInstanceUid", "Path", "Size", "Sha256", "Version", "Source", "CallingAe" FROM "Instances" """, c);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<PgRow>();
        while (await r.ReadAsync())
            rows.Add(new PgRow(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetInt32(4), r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6)));
        return rows;
    }

    private static async Task<long> EventCountAsync(string connectionString, string kind)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("""SELECT count(*) FROM "IngestEvents" WHERE "Kind" = @k""", c);
        cmd.Parameters.AddWithValue("k", kind);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static string[] PgArgs(string cs) => ["--Database:Provider=Postgres", $"--Database:ConnectionString={cs}"];

    [Fact]
    public async Task Instances_sent_by_storescu_are_indexed_once_in_postgres_across_a_restart()
    {
        var cs = await pg.CreateDatabaseAsync();
        var input = Support.NewTempDir("qcin");
        var data = Support.NewTempDir("qcdata");
        try
        {
            var files = Support.MakeCtFiles(input, 6);
            await using (var svc = await InProcessService.StartAsync(data, PgArgs(cs)))
            {
                var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path));
                Assert.True(store.ExitCode == 0, store.All);
                Assert.All(Support.StoreResponses(store.All).Values, v => Assert.Equal("Success", v));
            }
            Assert.False(File.Exists(Path.Combine(data, "qc.db")), "the SQLite file must not be made when the index is on PostgreSQL");

            var rows = await RowsAsync(cs);
            Assert.Equal(6, rows.Count);
            foreach (var f in files)
            {
                var row = Assert.Single(rows, r => r.SopInstanceUid == f.SopInstanceUid);
                Assert.Equal($"instances/{f.StudyUid}/{f.SeriesUid}/{f.SopInstanceUid}.dcm", row.Path);
                Assert.Equal(("dimse", "STORESCU", 1), (row.Source, row.CallingAe, row.Version));
                var stored = Path.Combine(data, row.Path);
                Assert.Equal(new FileInfo(stored).Length, row.Size);
                Assert.Equal(Support.DatasetSha256(stored), row.Sha256);
                Assert.Equal(await Support.DumpDatasetAsync(f.Path), await Support.DumpDatasetAsync(stored));
            }

            // A restart on the same database (migrations already applied) and the same files again: duplicates, no new rows.
            // Then one changed instance: a replacement, version 2, and its event.
            var variant = Path.Combine(input, "variant.dcm");
            Support.WriteVariant(variant, files[0].StudyUid, files[0].SeriesUid, files[0].SopInstanceUid, 1, "changed");
            await using (var svc = await InProcessService.StartAsync(data, PgArgs(cs)))
            {
                var again = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path));
                Assert.True(again.ExitCode == 0, again.All);
                var replace = await Support.StoreScuAsync(svc.DicomPort, [variant]);
                Assert.True(replace.ExitCode == 0, replace.All);
                Assert.Equal(6d, svc.Metrics.IngestTotal.WithLabels("duplicate").Value);
                Assert.Equal(1d, svc.Metrics.IngestTotal.WithLabels("replaced").Value);
            }
            rows = await RowsAsync(cs);
            Assert.Equal(6, rows.Count);
            var replaced = Assert.Single(rows, r => r.SopInstanceUid == files[0].SopInstanceUid);
            Assert.Equal(2, replaced.Version);
            Assert.Equal(Support.DatasetSha256(variant), replaced.Sha256);
            Assert.Equal(1, await EventCountAsync(cs, "replaced"));
        }
        finally
        {
            Support.TryDeleteDir(input);
            Support.TryDeleteDir(data);
        }
    }

    [Fact]
    public async Task A_database_outage_is_answered_with_a_failure_and_storing_resumes_when_it_is_back()
    {
        var cs = await pg.CreateDatabaseAsync();
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync(null, PgArgs(cs));
        try
        {
            var before = Support.MakeCtFiles(input, 2);
            var ok = await Support.StoreScuAsync(svc.DicomPort, before.Select(f => f.Path));
            Assert.True(ok.ExitCode == 0, ok.All);

            var during = Support.MakeCtFiles(Path.Combine(input, "during"), 3);
            await pg.HaltAsync();
            try
            {
                var down = await Support.StoreScuAsync(svc.DicomPort, during.Select(f => f.Path), timeout: TimeSpan.FromSeconds(120), options: ["--no-halt"]);
                output.WriteLine(down.All);
                var responses = Support.StoreResponses(down.All);
                Assert.Equal(3, responses.Count);
                // A700, which storescu names "Refused: OutOfResources".
                Assert.All(responses.Values, v => Assert.Equal("Refused: OutOfResources", v));
                Assert.All(during, f => Assert.False(File.Exists(Path.Combine(svc.DataPath, "instances", f.StudyUid, f.SeriesUid, f.SopInstanceUid + ".dcm")),
                    "an instance that was not indexed must not stay visible"));
                Assert.Empty(Directory.EnumerateFiles(Path.Combine(svc.DataPath, "tmp")));
                var echo = await Support.EchoScuAsync(svc.DicomPort);
                Assert.True(echo.ExitCode == 0, "the service keeps serving while the database is down: " + echo.All);
            }
            finally
            {
                await pg.ResumeAsync();
            }

            var after = await Support.StoreScuAsync(svc.DicomPort, during.Select(f => f.Path));
            Assert.True(after.ExitCode == 0, after.All);
            Assert.All(Support.StoreResponses(after.All).Values, v => Assert.Equal("Success", v));
            var rows = await RowsAsync(cs);
            Assert.Equal(5, rows.Count);
            Assert.Equal(5, rows.Select(r => r.SopInstanceUid).Distinct().Count());
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
