using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;
using QcPipeline.Service.ResultsStore;
using QcPipeline.Service.Schedule;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>The Modality Worklist SCP of the service over the scheduled scans (matching keys, return keys, statuses), and
/// the end-to-end proof: schedule through the API, findscu -W sees the item, storescu sends a phantom series carrying its
/// accession number, and the result appears, linked to the scan, which becomes done.</summary>
public sealed class WorklistTests(ITestOutputHelper output)
{
    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Schedule(HttpClient http, long device, string test, string date, string? time = null, string? ae = null)
    {
        var json = JsonSerializer.Serialize(new { device, test, date, time, stationAeTitle = ae });
        var r = await http.PostAsync("/api/schedule", Body(json));
        Assert.True(r.StatusCode == HttpStatusCode.Created, await r.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static DicomDataset Query(Action<DicomDataset>? top = null, Action<DicomDataset>? step = null)
    {
        var q = new DicomDataset();
        q.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, "");
        q.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, "");
        q.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, "");
        q.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, "");
        q.AddOrUpdate(DicomTags.RequestedProcedureID, DicomVR.SH, "");
        var sps = new DicomDataset();
        q.AddOrUpdate(new DicomSequence(DicomTags.ScheduledProcedureStepSequence, [sps]));
        sps.AddOrUpdate(DicomTags.ScheduledStationAETitle, DicomVR.AE, "");
        sps.AddOrUpdate(DicomTags.Modality, DicomVR.CS, "");
        sps.AddOrUpdate(DicomTags.ScheduledProcedureStepStartDate, DicomVR.DA, "");
        sps.AddOrUpdate(DicomTags.ScheduledProcedureStepStartTime, DicomVR.TM, "");
        sps.AddOrUpdate(DicomTags.ScheduledProcedureStepDescription, DicomVR.LO, "");
        top?.Invoke(q);
        step?.Invoke(sps);
        return q;
    }

    private static async Task<FindResult> Find(InProcessService svc, DicomDataset query)
    {
        var pc = new PresentationContextRequest(1, DicomUids.ModalityWorklistInformationModelFind, [DicomUids.ExplicitVRLittleEndian]);
        await using var client = await DicomClient.ConnectAsync("127.0.0.1", svc.DicomPort, [pc], new DicomClientOptions { CalledAeTitle = "QCPIPE", CallingAeTitle = "CT01" });
        var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, query);
        await client.ReleaseAsync();
        return r;
    }

    private static string Acc(DicomDataset m) => m.GetString(DicomTags.AccessionNumber)!;

    /// <summary>The value of the exposition line <c>NAME{LABELS} VALUE</c>, or null when there is none.</summary>
    private static double? MetricValue(string text, string name, string labels)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, "^" + System.Text.RegularExpressions.Regex.Escape(name + "{" + labels + "}") + @" (\S+)$",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private static async Task<List<(string Name, double Value)>> ResultMetrics(IDbContextFactory<ResultsDbContext> factory, long resultId)
    {
        var db = await factory.CreateDbContextAsync();
        await using (db)
        {
            var rows = await db.ResultMetrics.AsNoTracking().Where(m => m.ResultId == resultId && m.Value != null).ToListAsync();
            return rows.Select(m => (m.Name, m.Value!.Value)).ToList();
        }
    }

    [Fact]
    public async Task Worklist_matches_station_modality_date_ranges_and_wildcards()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false");
        await MatchingContract(svc);
    }

    /// <summary>Matching and return keys over a real database (SQLite here, PostgreSQL in <see cref="SchedulePostgresTests"/>).</summary>
    internal static async Task MatchingContract(InProcessService svc)
    {
        var ct = await ScheduleTests.AddDevice(svc.Services, "WL-CT", "CT", "CT01");
        var dx = await ScheduleTests.AddDevice(svc.Services, "WL-DX", "DX", "DR_ROOM2");
        var http = svc.CreateHttpClient();
        var a = (await Schedule(http, ct.Id, "ct-water", "2027-03-01", "08:00")).GetProperty("accessionNumber").GetString()!;
        var b = (await Schedule(http, ct.Id, "ct-mtf", "2027-03-03", "14:30")).GetProperty("accessionNumber").GetString()!;
        var c = (await Schedule(http, dx.Id, "dr-uniformity", "2027-03-02")).GetProperty("accessionNumber").GetString()!;
        var cancelled = await Schedule(http, ct.Id, "ct-water", "2027-03-02");
        Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync($"/api/schedule/{cancelled.GetProperty("id").GetInt64()}")).StatusCode);

        // Universal matching: every open item, in date order; the cancelled one is not served.
        var all = await Find(svc, Query());
        Assert.Equal(DicomStatus.Success, all.Final.Status);
        Assert.Equal([a, c, b], all.Matches.Select(Acc));
        Assert.All(all.PendingStatuses, s => Assert.Equal(DicomStatus.Pending, s));

        // Station AE title (single value and wildcard, case-sensitive), modality, single date, date ranges.
        Assert.Equal([a, b], (await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.ScheduledStationAETitle, DicomVR.AE, "CT01")))).Matches.Select(Acc));
        Assert.Equal([c], (await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.ScheduledStationAETitle, DicomVR.AE, "DR_*")))).Matches.Select(Acc));
        Assert.Empty((await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.ScheduledStationAETitle, DicomVR.AE, "ct01")))).Matches);
        Assert.Equal([c], (await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.Modality, DicomVR.CS, "DX")))).Matches.Select(Acc));
        Assert.Equal([c], (await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.ScheduledProcedureStepStartDate, DicomVR.DA, "20270302")))).Matches.Select(Acc));
        Assert.Equal([a, c], (await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.ScheduledProcedureStepStartDate, DicomVR.DA, "20270301-20270302")))).Matches.Select(Acc));
        Assert.Equal([c, b], (await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.ScheduledProcedureStepStartDate, DicomVR.DA, "20270302-")))).Matches.Select(Acc));
        Assert.Equal([a], (await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.ScheduledProcedureStepStartDate, DicomVR.DA, "-20270301")))).Matches.Select(Acc));
        // Date and time ranges together are one date-time range (PS3.4 §C.2.2.2.5.1): 1 March 09:00 to 3 March 14:00 excludes both CT items.
        Assert.Equal([c], (await Find(svc, Query(step: s =>
        {
            s.AddOrUpdate(DicomTags.ScheduledProcedureStepStartDate, DicomVR.DA, "20270301-20270303");
            s.AddOrUpdate(DicomTags.ScheduledProcedureStepStartTime, DicomVR.TM, "0900-1400");
        }))).Matches.Select(Acc));
        // Accession number, exact and wildcard; patient name ignores case.
        Assert.Equal([b], (await Find(svc, Query(top: q => q.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, b)))).Matches.Select(Acc));
        Assert.Equal([a, c, b], (await Find(svc, Query(top: q => q.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, "QC2703*")))).Matches.Select(Acc));
        Assert.Equal(3, (await Find(svc, Query(top: q => q.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, "qc^phant*")))).Matches.Count);

        // Return keys: what was asked, with our values; a key we do not match on, with a value, makes it FF01.
        var one = await Find(svc, Query(top: q =>
        {
            q.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, a);
            q.AddOrUpdate(DicomTags.PatientSex, DicomVR.CS, "F");
        }));
        Assert.Equal([DicomStatus.PendingOptionalKeysUnsupported], one.PendingStatuses);
        var m = Assert.Single(one.Matches);
        Assert.Equal("ISO_IR 192", m.GetString(DicomTags.SpecificCharacterSet));
        Assert.Equal("QC^PHANTOM", m.GetString(DicomTags.PatientName));
        Assert.Equal($"QCPHANTOM-{ct.Id}", m.GetString(DicomTags.PatientID));
        Assert.Equal("O", m.GetString(DicomTags.PatientSex));
        Assert.Equal("RP" + a[2..], m.GetString(DicomTags.RequestedProcedureID));
        Assert.StartsWith("2.25.", m.GetString(DicomTags.StudyInstanceUID), StringComparison.Ordinal);
        Assert.False(m.Contains(DicomTags.RequestedProcedurePriority)); // not asked for
        var sps = m.GetSequence(DicomTags.ScheduledProcedureStepSequence)!.Items.Single();
        Assert.Equal(("CT01", "CT", "20270301", "080000"), (sps.GetString(DicomTags.ScheduledStationAETitle), sps.GetString(DicomTags.Modality),
            sps.GetString(DicomTags.ScheduledProcedureStepStartDate), sps.GetString(DicomTags.ScheduledProcedureStepStartTime)));
        Assert.Equal("QC ct-water: CT number of water, uniformity, noise / 水模 CT值 均匀性 噪声", sps.GetString(DicomTags.ScheduledProcedureStepDescription));

        // A malformed key: A900 naming it.
        var bad = await Find(svc, Query(step: s => s.AddOrUpdate(DicomTags.ScheduledProcedureStepStartDate, DicomVR.DA, "2027-03-01")));
        Assert.Equal(DicomStatus.IdentifierDoesNotMatchSopClass, bad.Final.Status);
        Assert.Equal([DicomTags.ScheduledProcedureStepStartDate], bad.Final.Command.GetTags(DicomTags.OffendingElement));
        var two = Query();
        two.GetSequence(DicomTags.ScheduledProcedureStepSequence)!.Items.Add(new DicomDataset());
        Assert.Equal(DicomStatus.IdentifierDoesNotMatchSopClass, (await Find(svc, two)).Final.Status);

        // Every C-FIND is counted by its final status (the observer runs before the final response is sent); nothing of
        // the query is in a label.
        Assert.Equal(2, svc.Metrics.RequestsTotal.WithLabels("C-FIND", "failure", "A900").Value);
        Assert.Equal(14, svc.Metrics.RequestsTotal.WithLabels("C-FIND", "success", "0000").Value);
        Assert.Equal(3 + 2 + 1 + 0 + 1 + 1 + 2 + 2 + 1 + 1 + 1 + 3 + 3 + 1, svc.Metrics.FindMatchesTotal.Value);
    }

    [Fact]
    public async Task Worklist_off_does_not_negotiate_the_worklist()
    {
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:SweeperEnabled=false", "--Schedule:Worklist=false");
        var pc = new PresentationContextRequest(1, DicomUids.ModalityWorklistInformationModelFind, [DicomUids.ExplicitVRLittleEndian]);
        await using var client = await DicomClient.ConnectAsync("127.0.0.1", svc.DicomPort, [pc, new PresentationContextRequest(3, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian])],
            new DicomClientOptions { CalledAeTitle = "QCPIPE" });
        Assert.Equal(PresentationContextResult.AbstractSyntaxNotSupported, client.Accept.PresentationContexts.Single(p => p.Id == 1).Result);
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task End_to_end_schedule_findscu_storescu_result_linked_and_scan_done()
    {
        var input = Support.NewTempDir("qcwl");
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:QuietPeriod=00:00:01", "--Pipeline:SweepInterval=00:00:00.5",
            "--Metrics:QcRefreshInterval=00:00:00");
        try
        {
            // The CT has been seen before (its serial number is the one the phantom files carry).
            var device = await ScheduleTests.AddDevice(svc.Services, "SIM-0001", "CT", "CTSCANNER");
            var http = svc.CreateHttpClient();
            var today = DateTime.Now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

            // 1. Schedule a scan through the API.
            var scan = await Schedule(http, device.Id, "ct-water", today, "07:30");
            var acc = scan.GetProperty("accessionNumber").GetString()!;
            var studyUid = scan.GetProperty("studyInstanceUid").GetString()!;

            // 2. findscu -W, as the scanner: its AE title, modality and today.
            var wl = Path.Combine(input, "wl");
            Directory.CreateDirectory(wl);
            string[] keys =
            [
                "-aet", "CTSCANNER", "-aec", "QCPIPE",
                "-k", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=CTSCANNER",
                "-k", "ScheduledProcedureStepSequence[0].Modality=CT",
                "-k", $"ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate={today.Replace("-", "", StringComparison.Ordinal)}",
                "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
                "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription",
                "-k", "AccessionNumber", "-k", "PatientName", "-k", "PatientID", "-k", "StudyInstanceUID", "-k", "RequestedProcedureID",
            ];
            var find = await Support.RunAsync("findscu", ["-v", "-W", .. keys, "127.0.0.1", svc.DicomPort.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));
            output.WriteLine(find.All);
            Assert.True(find.ExitCode == 0, find.All);
            // findscu prints the dataset it received; the item's keys are in it.
            Assert.Contains($"(0008,0050) SH [{acc}]", find.All, StringComparison.Ordinal);
            Assert.Contains("(0010,0010) PN [QC^PHANTOM]", find.All, StringComparison.Ordinal);
            Assert.Contains("(0008,0005) CS [ISO_IR 192]", find.All, StringComparison.Ordinal);
            Assert.Contains("水模", find.All, StringComparison.Ordinal);
            // And with -X it writes the response to a file.
            var saved = await Support.RunAsync("findscu", ["-W", .. keys, "-X", "-od", wl, "127.0.0.1", svc.DicomPort.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));
            Assert.True(saved.ExitCode == 0, saved.All);
            var rsp = DicomFile.Open(Assert.Single(Directory.GetFiles(wl))).Dataset;
            Assert.Equal((acc, studyUid), (rsp.GetString(DicomTags.AccessionNumber), rsp.GetString(DicomTags.StudyInstanceUID)));
            Assert.Equal("073000", rsp.GetSequence(DicomTags.ScheduledProcedureStepSequence)!.Items[0].GetString(DicomTags.ScheduledProcedureStepStartTime));
            // Another station sees nothing.
            var other = await Support.RunAsync("findscu", ["-W", "-aec", "QCPIPE", "-k", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=MR01",
                "-k", "AccessionNumber", "-X", "-od", wl, "127.0.0.1", svc.DicomPort.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));
            Assert.True(other.ExitCode == 0, other.All);
            Assert.Single(Directory.GetFiles(wl));

            // 3. storescu sends a simulated phantom carrying the accession number and the pre-assigned Study Instance UID.
            var files = Support.MakeCtFiles(Path.Combine(input, "ct"), 3, studyUid);
            foreach (var f in files)
            {
                var file = DicomFile.Open(f.Path);
                file.Dataset.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, acc);
                file.Save(f.Path, TransferSyntax.ExplicitVRLittleEndian);
            }
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path), callingAe: "CTSCANNER");
            Assert.True(store.ExitCode == 0, store.All);

            // 4. The result appears, linked to the scheduled scan, which is done.
            var factory = svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
            ScheduledScanRecord? row = null;
            List<ResultRecord> results = [];
            var until = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < until)
            {
                var db = await factory.CreateDbContextAsync();
                await using (db)
                {
                    row = await db.ScheduledScans.AsNoTracking().SingleAsync(s => s.AccessionNumber == acc);
                    results = await db.Results.AsNoTracking().Where(r => r.SeriesInstanceUid == files[0].SeriesUid).ToListAsync();
                }
                if (row.Status == ScheduledScanRecord.Done) break;
                await Task.Delay(250);
            }
            Assert.Equal(ScheduledScanRecord.Done, row!.Status);
            // Routed by the schedule to its test only: the phantom's name alone would have routed it to "auto" (ct-water and ct-mtf).
            var result = Assert.Single(results);
            Assert.Equal(("ct-water", "pass", device.Id), (result.Profile, result.Verdict, result.DeviceId));
            Assert.Equal(result.Id, row.ResultId);
            var listed = JsonDocument.Parse(await http.GetStringAsync($"/api/schedule?device={device.Id}")).RootElement;
            var s = Assert.Single(listed.EnumerateArray());
            Assert.Equal(("done", result.Id), (s.GetProperty("status").GetString(), s.GetProperty("resultId").GetInt64()));
            // The test is no longer due: it passed just now.
            var due = JsonDocument.Parse(await http.GetStringAsync($"/api/due?device={device.Id}")).RootElement;
            var water = due.EnumerateArray().Single(d => d.GetProperty("test").GetString() == "ct-water");
            Assert.False(water.GetProperty("overdue").GetBoolean());
            Assert.Equal("pass", water.GetProperty("lastVerdict").GetString());
            // A done scan leaves the worklist and cannot be cancelled.
            Assert.Equal(HttpStatusCode.Conflict, (await http.DeleteAsync($"/api/schedule/{row.Id}")).StatusCode);
            Assert.Empty((await Find(svc, Query(top: q => q.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, acc)))).Matches);

            // 5. /metrics shows the gauges of that result: passed, its values, last run and pass, due a period later, not overdue;
            // the C-FIND exchanges above are counted; the accession number appears nowhere.
            var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            var sel = $"device=\"{device.Key}\",test=\"ct-water\"";
            Assert.Equal(1, MetricValue(text, "qc_test_passed", sel));
            var metrics = await ResultMetrics(factory, result.Id);
            Assert.NotEmpty(metrics);
            foreach (var (name, value) in metrics)
                Assert.Equal(value, MetricValue(text, "qc_metric_value", $"{sel},metric=\"{name}\"")!.Value, 1e-9);
            var at = result.AnalyzedAt.ToUnixTimeMilliseconds() / 1000.0;
            Assert.Equal(at, MetricValue(text, "qc_test_last_run_timestamp_seconds", sel)!.Value, 0.002);
            Assert.Equal(at, MetricValue(text, "qc_test_last_pass_timestamp_seconds", sel)!.Value, 0.002);
            Assert.Equal(result.AnalyzedAt.AddMonths(1).ToUnixTimeMilliseconds() / 1000.0, MetricValue(text, "qc_test_due_timestamp_seconds", sel)!.Value, 1);
            Assert.Equal(0, MetricValue(text, "qc_test_overdue", sel));
            var finds = MetricValue(text, "qc_dimse_requests_total", "command=\"C-FIND\",status_class=\"success\",status=\"0000\"");
            Assert.True(finds >= 4, string.Join('\n', text.Split('\n').Where(l => l.StartsWith("qc_dimse_", StringComparison.Ordinal))));
            Assert.DoesNotContain(acc, text, StringComparison.Ordinal);
            Assert.DoesNotContain(studyUid, text, StringComparison.Ordinal);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
