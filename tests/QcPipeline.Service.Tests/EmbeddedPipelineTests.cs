using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using QcPipeline.Service.Index;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Tests;

/// <summary>The happy path on the embedded defaults (in-memory bus, SQLite, one process with every role), as
/// <c>dotnet run --project src/QcPipeline.Service</c> starts it: a CT water series by storescu and the DR set by STOW-RS
/// are assembled after the quiet period, analysed once each, and stored with the expected verdicts. (The same path on
/// RabbitMQ and PostgreSQL, with separate processes: <see cref="PipelineProcessTests"/>.)</summary>
public sealed class EmbeddedPipelineTests
{
    [Fact]
    public async Task CT_by_storescu_and_DR_by_STOW_end_as_results_with_the_expected_verdicts_on_the_embedded_defaults()
    {
        var input = Support.NewTempDir("qcembedded");
        await using var svc = await InProcessService.StartAsync(null, "--Pipeline:QuietPeriod=00:00:01");
        try
        {
            var ct = Support.MakeCtFiles(Path.Combine(input, "ct"), 10);
            var store = await Support.StoreScuAsync(svc.DicomPort, ct.Select(f => f.Path), callingAe: "CTSCANNER");
            Assert.True(store.ExitCode == 0, store.All);
            var dr = Directory.GetFiles(Path.Combine(Support.RepoRoot, "phantoms", "dr-flat"), "*.dcm").Order(StringComparer.Ordinal).ToArray();
            using (var http = svc.CreateHttpClient())
            {
                var stow = await StowSupport.SendAsync(http, StowSupport.Request("dicom-web/studies", StowSupport.Body([.. dr.Select(File.ReadAllBytes)])));
                Assert.Equal((int)HttpStatusCode.OK, stow.Status);
                Assert.Equal(dr.Length, stow.Stored.Count);
            }
            var drSeries = Support.PhantomSeriesUid("dr-flat");
            string[] both = [ct[0].SeriesUid, drSeries];

            var index = svc.Services.GetRequiredService<IDbContextFactory<IndexDbContext>>();
            async Task<List<SeriesRecord>> Series()
            {
                var db = await index.CreateDbContextAsync();
                await using (db) return await db.Series.AsNoTracking().Where(s => both.Contains(s.SeriesInstanceUid)).ToListAsync();
            }
            var series = await SeriesAssemblyScenarios.Eventually(Series, s => s.Count == 2 && s.All(x => x.State == SeriesRecord.Analyzed),
                TimeSpan.FromSeconds(120));
            Assert.All(series, s => Assert.Equal(SeriesRecord.Analyzed, s.State));

            var results = svc.Services.GetRequiredService<IDbContextFactory<ResultsDbContext>>();
            var rdb = await results.CreateDbContextAsync();
            await using (rdb)
            {
                var rows = await rdb.Results.Include(r => r.Metrics).AsNoTracking().Where(r => both.Contains(r.SeriesInstanceUid)).ToListAsync();
                // Once each: one claim per series, one result per profile.
                Assert.All(rows.GroupBy(r => r.SeriesInstanceUid), g => Assert.Single(g.Select(r => r.ClaimId).Distinct()));
                Assert.All(rows.GroupBy(r => (r.SeriesInstanceUid, r.Profile)), g => Assert.Single(g));

                var water = Assert.Single(rows, r => r.SeriesInstanceUid == ct[0].SeriesUid && r.Profile == "ct-water");
                Assert.Equal(("pass", 10), (water.Verdict, water.InstanceCount));
                Assert.InRange(water.Metrics.Single(m => m.Name == "ct.water_hu").Value!.Value, -6, 6);

                var drResults = rows.Where(r => r.SeriesInstanceUid == drSeries).ToDictionary(r => r.Profile);
                Assert.Equal(("pass", "pass", "pass", "inconclusive"),
                    (drResults["dr-stp"].Verdict, drResults["dr-uniformity"].Verdict, drResults["dr-lag"].Verdict, drResults["dr-dark"].Verdict)); // dark: no baseline yet
                var truth = Support.PhantomTruth("dr-flat", "dr.uniformity_cv_percent");
                Assert.InRange(drResults["dr-uniformity"].Metrics.Single(m => m.Name == "dr.uniformity_cv_percent").Value!.Value, truth - 0.0712, truth + 0.0712);
            }
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
