using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Service.Index;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.Retention;
using QcPipeline.Service.ResultsStore;
using static QcPipeline.Service.Tests.SeriesAssemblyScenarios;

namespace QcPipeline.Service.Tests;

/// <summary>Retention scenarios, run on SQLite and on PostgreSQL. Time passes by moving a series' analysed time back in the
/// index (what a clock that moved on would show), or with periods of seconds where the background loop is tested.</summary>
internal static class RetentionScenarios
{
    /// <summary>Retention runs only when a test calls it, unless a test turns the loop on.</summary>
    public static readonly string[] Manual = ["--Pipeline:QuietPeriod=00:00:01", "--Storage:Fsync=false", "--Retention:Enabled=false"];

    public sealed record Series(string StudyUid, string SeriesUid, List<Support.TestInstance> Files, bool Clinical);

    /// <summary>A CT series from the water phantom sample: as it is (a QC series by the built-in phantom naming rules), or
    /// renamed like a clinical study that no rule matches. The clinical one's second instance carries another patient name,
    /// so the label checks record a finding for it (the QC record that must outlive the images).</summary>
    public static Series MakeSeries(string dir, int count, bool clinical)
    {
        var files = Support.MakeCtFiles(Path.Combine(dir, Guid.NewGuid().ToString("N")), count);
        if (clinical)
        {
            for (int i = 0; i < files.Count; i++)
            {
                DicomDataset ds;
                using (var f = DicomFile.Open(files[i].Path)) ds = f.Dataset.Clone();
                ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, i == 1 ? "DOE^JOHN" : "DOE^JANE");
                ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, "PID12345");
                ds.AddOrUpdate(DicomTags.StudyDescription, DicomVR.LO, "CT CHEST");
                ds.AddOrUpdate(DicomTags.SeriesDescription, DicomVR.LO, "AXIAL 5MM");
                new DicomFile(ds, null, TransferSyntax.ExplicitVRLittleEndian).Save(files[i].Path, TransferSyntax.ExplicitVRLittleEndian);
            }
        }
        return new Series(files[0].StudyUid, files[0].SeriesUid, files, clinical);
    }

    public static async Task SendAsync(InProcessService svc, params Series[] series)
    {
        var paths = series.SelectMany(s => s.Files).Select(f => f.Path).ToList();
        var store = await Support.StoreScuAsync(svc.DicomPort, paths, callingAe: "CTSCANNER");
        Assert.True(store.ExitCode == 0, store.All);
        var responses = Support.StoreResponses(store.All);
        Assert.All(paths, p => Assert.Equal("Success", responses[p]));
    }

    public static async Task<SeriesRecord> AnalysedAsync(InProcessService svc, Series s)
    {
        var row = await Eventually(() => SeriesAsync(svc, s.SeriesUid), r => r?.State == SeriesRecord.Analyzed, TimeSpan.FromSeconds(120));
        Assert.True(row?.State == SeriesRecord.Analyzed, $"series not analysed: {row?.State}");
        return row!;
    }

    /// <summary>Moves the series' analysed time back by <paramref name="by"/>: as if that much time had passed.</summary>
    public static Task AgeAsync(InProcessService svc, Series s, TimeSpan by) => IndexAsync(svc, async db =>
    {
        var row = await db.Series.SingleAsync(r => r.SeriesInstanceUid == s.SeriesUid);
        row.AnalyzedAt -= by;
        row.Version++;
        return await db.SaveChangesAsync();
    });

    public static RetentionService Retention(InProcessService svc) => svc.Services.GetRequiredService<RetentionService>();

    public static string FilePath(InProcessService svc, Support.TestInstance f) =>
        Path.Combine(svc.DataPath, "instances", f.StudyUid, f.SeriesUid, f.SopInstanceUid + ".dcm");

    public static Task<List<InstanceRecord>> InstancesAsync(InProcessService svc, Series s) =>
        IndexAsync(svc, db => db.Instances.AsNoTracking().Where(i => i.SeriesInstanceUid == s.SeriesUid).ToListAsync());

    public static async Task<(int Results, int Findings)> QcRecordAsync(InProcessService svc, Series s)
    {
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db)
            return (await db.Results.CountAsync(r => r.SeriesInstanceUid == s.SeriesUid), await db.LabelFindings.CountAsync(f => f.SeriesInstanceUid == s.SeriesUid));
    }

    public static async Task<List<AuditRecord>> AuditAsync(InProcessService svc)
    {
        var db = await svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>().CreateDbContextAsync();
        await using (db) return await db.Audit.AsNoTracking().Where(a => a.Action == "retention.delete").OrderBy(a => a.Id).ToListAsync();
    }

    public static double Deleted(InProcessService svc, string kind) =>
        svc.Services.GetRequiredService<RetentionMetrics>().DeletedTotal.WithLabels(kind).Value;

    /// <summary>QIDO-RS instances of the series (their SOP Instance UIDs) and the WADO-RS status of one instance.</summary>
    public static async Task<(int QidoCount, HttpStatusCode Wado)> DicomWebAsync(InProcessService svc, Series s, Support.TestInstance one)
    {
        using var http = svc.CreateHttpClient();
        using var qido = await http.GetAsync($"/dicom-web/studies/{s.StudyUid}/series/{s.SeriesUid}/instances");
        Assert.Equal(HttpStatusCode.OK, qido.StatusCode);
        var json = System.Text.Json.JsonDocument.Parse(await qido.Content.ReadAsStringAsync());
        using var req = new HttpRequestMessage(HttpMethod.Get, $"/dicom-web/studies/{s.StudyUid}/series/{s.SeriesUid}/instances/{one.SopInstanceUid}");
        req.Headers.TryAddWithoutValidation("Accept", "multipart/related; type=\"application/dicom\"");
        using var wado = await http.SendAsync(req);
        return (json.RootElement.GetArrayLength(), wado.StatusCode);
    }

    /// <summary>A QC series and a clinical series are both analysed (the worker records which is which). Before the period
    /// nothing is deleted; after it the clinical series' files, folders and rows are gone (QIDO-RS lists none, WADO-RS is 404),
    /// the series is marked purged, and one audit row and the metrics count it; the QC series, and the results and label
    /// findings of both, stay. A late instance of the purged series is stored and analysed as the series' only instance.</summary>
    public static async Task ClinicalImagesGoAfterTheirPeriodQcImagesStayAsync(params string[] args)
    {
        var input = Support.NewTempDir("qcret");
        // Fsync on: the folder syncs after the deletions run too.
        await using var svc = await InProcessService.StartAsync(null, [.. Manual, "--Storage:Fsync=true", "--Retention:NonQcImages=01:00:00", .. args]);
        try
        {
            var qc = MakeSeries(input, 3, clinical: false);
            var clinical = MakeSeries(input, 3, clinical: true);
            await SendAsync(svc, qc, clinical);
            var qcRow = await AnalysedAsync(svc, qc);
            var clinicalRow = await AnalysedAsync(svc, clinical);
            Assert.Equal((true, false), (qcRow.IsQc, clinicalRow.IsQc));
            Assert.NotNull(qcRow.AnalyzedAt);
            Assert.NotNull(clinicalRow.AnalyzedAt);
            var qcRecord = await QcRecordAsync(svc, qc);
            var clinicalRecord = await QcRecordAsync(svc, clinical);
            Assert.True(qcRecord.Results > 0, "the QC series has results");
            Assert.True(clinicalRecord.Findings > 0, "the clinical series has label findings");
            Assert.Equal(0, clinicalRecord.Results); // not a QC series: no phantom analysis

            // Within the period: nothing.
            var early = await Retention(svc).RunOnceAsync();
            Assert.False(early.DeletedAnything, early.ToString());
            Assert.All(clinical.Files, f => Assert.True(File.Exists(FilePath(svc, f))));
            Assert.Empty(await AuditAsync(svc));

            // Two hours later (both series aged alike): the clinical series goes, the QC series stays (QcImages: forever).
            await AgeAsync(svc, qc, TimeSpan.FromHours(2));
            await AgeAsync(svc, clinical, TimeSpan.FromHours(2));
            var storedBytes = clinical.Files.Sum(f => new FileInfo(FilePath(svc, f)).Length);
            var report = await Retention(svc).RunOnceAsync();
            Assert.Equal((1, 3, 0, 0), (report.NonQcSeries, report.NonQcInstances, report.QcSeries, report.QcInstances));
            Assert.Equal(storedBytes, report.Bytes);

            Assert.All(clinical.Files, f => Assert.False(File.Exists(FilePath(svc, f))));
            Assert.False(Directory.Exists(Path.Combine(svc.DataPath, "instances", clinical.StudyUid)), "the emptied study folder is removed");
            Assert.Empty(await InstancesAsync(svc, clinical));
            var purged = await SeriesAsync(svc, clinical.SeriesUid);
            Assert.Equal((SeriesRecord.Purged, 0), (purged!.State, purged.InstanceCount));
            Assert.NotNull(purged.PurgedAt);
            Assert.Equal((0, HttpStatusCode.NotFound), await DicomWebAsync(svc, clinical, clinical.Files[0]));

            Assert.All(qc.Files, f => Assert.True(File.Exists(FilePath(svc, f))));
            Assert.Equal(3, (await InstancesAsync(svc, qc)).Count);
            Assert.Equal(SeriesRecord.Analyzed, (await SeriesAsync(svc, qc.SeriesUid))!.State);
            Assert.Equal((3, HttpStatusCode.OK), await DicomWebAsync(svc, qc, qc.Files[0]));

            Assert.Equal(qcRecord, await QcRecordAsync(svc, qc));
            Assert.Equal(clinicalRecord, await QcRecordAsync(svc, clinical));
            Assert.Equal(3d, Deleted(svc, RetentionMetrics.NonQcImage));
            Assert.Equal(0d, Deleted(svc, RetentionMetrics.QcImage));
            var audit = Assert.Single(await AuditAsync(svc));
            Assert.Equal(("system", "retention"), (audit.Actor, audit.Entity));
            Assert.Contains("\"nonQcInstances\":3", audit.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(clinical.SeriesUid, audit.Detail, StringComparison.Ordinal);

            // Again: nothing more to do, no second audit row.
            Assert.False((await Retention(svc).RunOnceAsync()).DeletedAnything);
            Assert.Single(await AuditAsync(svc));

            // A late instance of the purged series: stored, the series re-opened from it alone, analysed again.
            var late = Path.Combine(input, "late.dcm");
            var lateSop = Support.NewUid();
            Support.WriteVariant(late, clinical.StudyUid, clinical.SeriesUid, lateSop, 9, "AXIAL 5MM");
            var store = await Support.StoreScuAsync(svc.DicomPort, [late]);
            Assert.Equal("Success", Support.StoreResponses(store.All)[late]);
            var reopened = await Eventually(() => SeriesAsync(svc, clinical.SeriesUid), r => r?.State == SeriesRecord.Analyzed, TimeSpan.FromSeconds(90));
            Assert.Equal((SeriesRecord.Analyzed, 1), (reopened!.State, reopened.InstanceCount));
            Assert.True(reopened.FirstInstanceAt > purged.PurgedAt!.Value.AddSeconds(-1), "the re-opened series starts at its new instance");
            Assert.Equal(1, (await DicomWebAsync(svc, clinical, new Support.TestInstance(late, clinical.StudyUid, clinical.SeriesUid, lateSop))).QidoCount);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    /// <summary>Series not yet checked (open), being checked (claimed) or re-opened after a check (open again, with an old
    /// analysed time) are never touched, however old; nor is an analysed series from before kinds were recorded.</summary>
    public static async Task UncheckedSeriesAreNotTouchedAsync(params string[] args)
    {
        var input = Support.NewTempDir("qcret");
        await using var svc = await InProcessService.StartAsync(null, [.. Manual, "--Pipeline:SweeperEnabled=false", "--Retention:NonQcImages=00:00:01", .. args]);
        try
        {
            var open = MakeSeries(input, 2, clinical: true);
            var claimed = MakeSeries(input, 2, clinical: true);
            var reopened = MakeSeries(input, 2, clinical: true);
            var unknown = MakeSeries(input, 2, clinical: true);
            await SendAsync(svc, open, claimed, reopened, unknown);
            var longAgo = DateTimeOffset.UtcNow.AddDays(-30);
            await IndexAsync(svc, async db =>
            {
                var rows = await db.Series.ToDictionaryAsync(s => s.SeriesInstanceUid);
                Assert.All(rows.Values, r => Assert.Equal(SeriesRecord.Open, r.State)); // the sweeper is off
                var c = rows[claimed.SeriesUid];
                (c.State, c.ClaimId, c.ClaimedAt, c.IsQc, c.AnalyzedAt) = (SeriesRecord.Claimed, Guid.NewGuid(), longAgo, false, longAgo);
                var r = rows[reopened.SeriesUid];
                (r.IsQc, r.AnalyzedAt) = (false, longAgo); // analysed once, then a new instance re-opened it
                var u = rows[unknown.SeriesUid];
                (u.State, u.AnalyzedAt) = (SeriesRecord.Analyzed, longAgo); // IsQc null: analysed before this version
                foreach (var row in rows.Values) row.Version++;
                return await db.SaveChangesAsync();
            });
            await Task.Delay(TimeSpan.FromSeconds(1.5));

            var report = await Retention(svc).RunOnceAsync();
            Assert.False(report.DeletedAnything, report.ToString());
            foreach (var s in new[] { open, claimed, reopened, unknown })
            {
                Assert.All(s.Files, f => Assert.True(File.Exists(FilePath(svc, f))));
                Assert.Equal(2, (await InstancesAsync(svc, s)).Count);
            }
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    /// <summary>The crash window: the files of a batch are deleted, then the process dies before the rows are deleted (the
    /// transaction rolls back). Nothing is resurrected: no file is left without its row, so the restart's reconciliation
    /// indexes nothing; the rows left behind are deleted by the next run, and the QC series is untouched throughout.</summary>
    public static async Task CrashBetweenFilesAndRowsLosesAndResurrectsNothingAsync(params string[] args)
    {
        var input = Support.NewTempDir("qcret");
        var data = Support.NewTempDir("qcretdata");
        string[] config = [.. Manual, "--Retention:NonQcImages=01:00:00", .. args];
        try
        {
            var qc = MakeSeries(input, 2, clinical: false);
            var clinical = MakeSeries(input, 3, clinical: true);
            await using (var svc = await InProcessService.StartAsync(data, config))
            {
                await SendAsync(svc, qc, clinical);
                await AnalysedAsync(svc, qc);
                await AnalysedAsync(svc, clinical);
                await AgeAsync(svc, qc, TimeSpan.FromDays(1));
                await AgeAsync(svc, clinical, TimeSpan.FromDays(1));

                var retention = Retention(svc);
                retention.AfterFilesDeleted = _ => throw new IOException("simulated crash after the file deletions");
                await Assert.ThrowsAsync<IOException>(() => retention.RunOnceAsync());
                retention.AfterFilesDeleted = null;
                Assert.Equal(1d, svc.Services.GetRequiredService<RetentionMetrics>().RunsTotal.WithLabels("failed").Value);

                Assert.All(clinical.Files, f => Assert.False(File.Exists(FilePath(svc, f))));
                Assert.Equal(3, (await InstancesAsync(svc, clinical)).Count); // rows without files until the next run
                Assert.Equal(SeriesRecord.Analyzed, (await SeriesAsync(svc, clinical.SeriesUid))!.State);
                Assert.Empty(await AuditAsync(svc));
            }

            // Restart on the same data: reconciliation finds no file without a row (nothing to re-index).
            await using (var svc = await InProcessService.StartAsync(data, config))
            {
                var reconcile = await svc.Services.GetRequiredService<InstanceStoreReconciler>().RunAsync(CancellationToken.None);
                Assert.Equal((0, 0), (reconcile.Indexed, reconcile.Reindexed));
                Assert.Equal(2, reconcile.FilesSeen); // the QC series' files only
                Assert.All(clinical.Files, f => Assert.False(File.Exists(FilePath(svc, f))));

                var report = await Retention(svc).RunOnceAsync();
                Assert.Equal((1, 3, 0), (report.NonQcSeries, report.NonQcInstances, report.QcInstances));
                Assert.Empty(await InstancesAsync(svc, clinical));
                Assert.Equal(SeriesRecord.Purged, (await SeriesAsync(svc, clinical.SeriesUid))!.State);
                Assert.Equal(2, (await InstancesAsync(svc, qc)).Count);
                Assert.All(qc.Files, f => Assert.True(File.Exists(FilePath(svc, f))));
                Assert.Single(await AuditAsync(svc));
            }
        }
        finally
        {
            Support.TryDeleteDir(input);
            Support.TryDeleteDir(data);
        }
    }

    /// <summary>Ingest events older than <c>Retention:IngestEvents</c> are deleted, newer ones stay.</summary>
    public static async Task OldIngestEventsAreTrimmedAsync(params string[] args)
    {
        await using var svc = await InProcessService.StartAsync(null, [.. Manual, "--Retention:IngestEvents=30.00:00:00", .. args]);
        var now = DateTimeOffset.UtcNow;
        await IndexAsync(svc, async db =>
        {
            foreach (var days in new[] { 400, 31, 29, 1 })
                db.IngestEvents.Add(new IngestEventRecord { SopInstanceUid = "1.2." + days, Kind = "replaced", At = now.AddDays(-days).AddMilliseconds(-123.4567) });
            return await db.SaveChangesAsync();
        });
        var report = await Retention(svc).RunOnceAsync();
        Assert.Equal(2, report.IngestEvents);
        var left = await IndexAsync(svc, db => db.IngestEvents.AsNoTracking().Select(e => e.SopInstanceUid).ToListAsync());
        Assert.Equal(["1.2.1", "1.2.29"], left.Order());
        Assert.Equal(2d, Deleted(svc, RetentionMetrics.IngestEvent));
        Assert.Contains("\"ingestEvents\":2", Assert.Single(await AuditAsync(svc)).Detail, StringComparison.Ordinal);
    }

    /// <summary>Two retention services at once (as two processes would run): each due series is purged exactly once.</summary>
    public static async Task ConcurrentRunsPurgeEachSeriesOnceAsync(params string[] args)
    {
        var input = Support.NewTempDir("qcret");
        await using var svc = await InProcessService.StartAsync(null, [.. Manual, "--Retention:NonQcImages=01:00:00", "--Retention:BatchSize=2", .. args]);
        try
        {
            var series = Enumerable.Range(0, 6).Select(_ => MakeSeries(input, 2, clinical: true)).ToArray();
            await SendAsync(svc, series);
            foreach (var s in series)
            {
                await AnalysedAsync(svc, s);
                await AgeAsync(svc, s, TimeSpan.FromDays(1));
            }
            var first = Retention(svc);
            var second = ActivatorUtilities.CreateInstance<RetentionService>(svc.Services);
            var reports = await Task.WhenAll(Task.Run(() => first.RunOnceAsync()), Task.Run(() => second.RunOnceAsync()));
            Assert.Equal(6, reports.Sum(r => r.NonQcSeries));
            Assert.Equal(12, reports.Sum(r => r.NonQcInstances));
            foreach (var s in series)
            {
                Assert.Equal(SeriesRecord.Purged, (await SeriesAsync(svc, s.SeriesUid))!.State);
                Assert.Empty(await InstancesAsync(svc, s));
            }
            Assert.Equal(12d, Deleted(svc, RetentionMetrics.NonQcImage));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}

/// <summary>Retention on the embedded defaults (SQLite, in-memory bus), and its settings.</summary>
public sealed class RetentionTests
{
    [Fact]
    public Task Clinical_images_are_deleted_after_their_period_and_QC_images_results_and_findings_stay() =>
        RetentionScenarios.ClinicalImagesGoAfterTheirPeriodQcImagesStayAsync();

    [Fact]
    public Task Open_claimed_reopened_and_unknown_kind_series_are_not_touched() =>
        RetentionScenarios.UncheckedSeriesAreNotTouchedAsync();

    [Fact]
    public Task A_crash_between_file_and_row_deletion_neither_resurrects_nor_loses_anything() =>
        RetentionScenarios.CrashBetweenFilesAndRowsLosesAndResurrectsNothingAsync();

    [Fact]
    public Task Old_ingest_events_are_trimmed() => RetentionScenarios.OldIngestEventsAreTrimmedAsync();

    [Fact]
    public Task Concurrent_runs_purge_each_series_once() => RetentionScenarios.ConcurrentRunsPurgeEachSeriesOnceAsync();

    /// <summary>The background loop with periods of seconds: the clinical series disappears by itself, the QC series stays;
    /// with <c>Retention:QcImages</c> set, QC images go too.</summary>
    [Fact]
    public async Task The_background_service_deletes_due_series_by_itself_and_QC_images_only_when_QcImages_is_set()
    {
        var input = Support.NewTempDir("qcret");
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:QuietPeriod=00:00:01", "--Storage:Fsync=false",
            "--Retention:Interval=00:00:01", "--Retention:NonQcImages=00:00:02", "--Retention:QcImages=00:00:20");
        try
        {
            var qc = RetentionScenarios.MakeSeries(input, 2, clinical: false);
            var clinical = RetentionScenarios.MakeSeries(input, 2, clinical: true);
            await RetentionScenarios.SendAsync(svc, qc, clinical);
            var gone = await SeriesAssemblyScenarios.Eventually(() => SeriesAssemblyScenarios.SeriesAsync(svc, clinical.SeriesUid),
                s => s?.State == SeriesRecord.Purged, TimeSpan.FromSeconds(120));
            Assert.Equal(SeriesRecord.Purged, gone?.State);
            Assert.All(clinical.Files, f => Assert.False(File.Exists(RetentionScenarios.FilePath(svc, f))));
            var qcRow = await SeriesAssemblyScenarios.SeriesAsync(svc, qc.SeriesUid);
            Assert.Equal(SeriesRecord.Analyzed, qcRow?.State);
            Assert.True(DateTimeOffset.UtcNow - qcRow!.AnalyzedAt!.Value < TimeSpan.FromSeconds(18), "test too slow to see the QC series kept");
            Assert.All(qc.Files, f => Assert.True(File.Exists(RetentionScenarios.FilePath(svc, f))));

            var qcGone = await SeriesAssemblyScenarios.Eventually(() => SeriesAssemblyScenarios.SeriesAsync(svc, qc.SeriesUid),
                s => s?.State == SeriesRecord.Purged, TimeSpan.FromSeconds(60));
            Assert.Equal(SeriesRecord.Purged, qcGone?.State);
            Assert.True(qcGone!.PurgedAt - qcRow.AnalyzedAt >= TimeSpan.FromSeconds(20), "QC images kept for their own period");
            Assert.Equal(2d, RetentionScenarios.Deleted(svc, RetentionMetrics.QcImage));
            Assert.True((await RetentionScenarios.QcRecordAsync(svc, qc)).Results > 0, "QC results stay after their images are gone");
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    /// <summary>A series with an instance being received in this process (its ingest lock held) is passed over, untouched,
    /// and purged by the next run.</summary>
    [Fact]
    public async Task A_series_with_an_instance_being_received_is_passed_over_until_the_next_run()
    {
        var input = Support.NewTempDir("qcret");
        await using var svc = await InProcessService.StartAsync(null, [.. RetentionScenarios.Manual, "--Retention:NonQcImages=01:00:00"]);
        try
        {
            var clinical = RetentionScenarios.MakeSeries(input, 2, clinical: true);
            await RetentionScenarios.SendAsync(svc, clinical);
            await RetentionScenarios.AnalysedAsync(svc, clinical);
            await RetentionScenarios.AgeAsync(svc, clinical, TimeSpan.FromDays(1));
            var gate = svc.Services.GetRequiredService<IngestService>().LockFor(clinical.Files[1].SopInstanceUid);
            await gate.WaitAsync();
            RetentionReport busy;
            try { busy = await RetentionScenarios.Retention(svc).RunOnceAsync(); }
            finally { gate.Release(); }
            Assert.Equal((0, 0, 1), (busy.NonQcSeries, busy.NonQcInstances, busy.SeriesSkipped));
            Assert.All(clinical.Files, f => Assert.True(File.Exists(RetentionScenarios.FilePath(svc, f))));
            var next = await RetentionScenarios.Retention(svc).RunOnceAsync();
            Assert.Equal((1, 2), (next.NonQcSeries, next.NonQcInstances));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    /// <summary>A series none of whose files could be read when it was checked has no known kind (its route was chosen from
    /// nothing): retention keeps it, however old.</summary>
    [Fact]
    public async Task A_series_whose_files_could_not_be_read_has_no_kind_and_is_kept()
    {
        var input = Support.NewTempDir("qcret");
        await using var svc = await InProcessService.StartAsync(null, [.. RetentionScenarios.Manual, "--Pipeline:SweeperEnabled=false", "--Retention:NonQcImages=00:00:01"]);
        try
        {
            var clinical = RetentionScenarios.MakeSeries(input, 2, clinical: true);
            await RetentionScenarios.SendAsync(svc, clinical);
            foreach (var f in clinical.Files) await File.WriteAllTextAsync(RetentionScenarios.FilePath(svc, f), "damaged on disk");
            await Task.Delay(TimeSpan.FromSeconds(1.2)); // the quiet period
            Assert.Single(await svc.Services.GetRequiredService<Workers.SeriesSweeper>().ClaimAsync());
            var row = await RetentionScenarios.AnalysedAsync(svc, clinical);
            Assert.Null(row.IsQc);
            await RetentionScenarios.AgeAsync(svc, clinical, TimeSpan.FromDays(30));
            Assert.False((await RetentionScenarios.Retention(svc).RunOnceAsync()).DeletedAnything);
            Assert.All(clinical.Files, f => Assert.True(File.Exists(RetentionScenarios.FilePath(svc, f))));
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("0", null)]
    [InlineData("00:00:00", null)]
    [InlineData("7", 7.0)] // a bare number is days (TimeSpan)
    [InlineData("1.12:00:00", 1.5)]
    public async Task A_period_of_0_or_empty_keeps_forever(string value, double? days)
    {
        await using var svc = await InProcessService.StartAsync(null, [.. RetentionScenarios.Manual, $"--Retention:NonQcImages={value}"]);
        var o = svc.Services.GetRequiredService<IOptions<RetentionOptions>>().Value;
        Assert.Equal(days, RetentionOptions.Effective(o.NonQcImages)?.TotalDays);
    }

    [Fact]
    public async Task Defaults_keep_QC_images_forever_clinical_images_7_days_and_ingest_events_365_days()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Retention:Enabled=false");
        var o = svc.Services.GetRequiredService<IOptions<RetentionOptions>>().Value;
        Assert.Equal((TimeSpan.FromDays(7), (TimeSpan?)null, TimeSpan.FromDays(365), TimeSpan.FromHours(1)),
            (RetentionOptions.Effective(o.NonQcImages), RetentionOptions.Effective(o.QcImages), RetentionOptions.Effective(o.IngestEvents), o.Interval));
    }

    [Theory]
    [InlineData("--Retention:NonQcImages=-1.00:00:00", "Retention:NonQcImages")]
    [InlineData("--Retention:QcImages=-00:00:01", "Retention:QcImages")]
    [InlineData("--Retention:IngestEvents=40000.00:00:00", "Retention:IngestEvents")]
    [InlineData("--Retention:Interval=00:00:00", "Retention:Interval")]
    [InlineData("--Retention:BatchSize=0", "Retention:BatchSize")]
    public async Task Invalid_retention_settings_stop_the_service_at_start(string arg, string key)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => InProcessService.StartAsync(null, _ => { }, arg));
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Retention:NonQcImages=-7.00:00:00", "invalid configuration: Retention:NonQcImages must be")]
    [InlineData("--Retention:QcImages=a week", "Retention:QcImages")]
    public async Task Invalid_retention_settings_end_the_process_with_exit_code_2_naming_the_key(string arg, string expected)
    {
        var dir = Support.NewTempDir("qcretcfg");
        try
        {
            await using var svc = ChildService.Start(dir, ["--Dicom:Port=0", "--Http:Urls=http://127.0.0.1:0", arg]);
            Assert.Equal(2, await svc.WaitExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(expected, svc.Output, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }
}

/// <summary>Retention with the index on a real PostgreSQL (series locked with <c>FOR UPDATE SKIP LOCKED</c>).</summary>
[Collection(PostgresCollection.Name)]
public sealed class RetentionPostgresTests(PostgresFixture pg)
{
    private async Task<string[]> PgArgs() => ["--Database:Provider=Postgres", $"--Database:ConnectionString={await pg.CreateDatabaseAsync()}"];

    [Fact]
    public async Task Clinical_images_are_deleted_after_their_period_and_QC_images_results_and_findings_stay_on_postgres() =>
        await RetentionScenarios.ClinicalImagesGoAfterTheirPeriodQcImagesStayAsync(await PgArgs());

    [Fact]
    public async Task Open_claimed_reopened_and_unknown_kind_series_are_not_touched_on_postgres() =>
        await RetentionScenarios.UncheckedSeriesAreNotTouchedAsync(await PgArgs());

    [Fact]
    public async Task A_crash_between_file_and_row_deletion_neither_resurrects_nor_loses_anything_on_postgres() =>
        await RetentionScenarios.CrashBetweenFilesAndRowsLosesAndResurrectsNothingAsync(await PgArgs());

    [Fact]
    public async Task Old_ingest_events_are_trimmed_on_postgres() => await RetentionScenarios.OldIngestEventsAreTrimmedAsync(await PgArgs());

    [Fact]
    public async Task Concurrent_runs_purge_each_series_once_on_postgres() =>
        await RetentionScenarios.ConcurrentRunsPurgeEachSeriesOnceAsync(await PgArgs());
}
