using System.Diagnostics;
using Xunit.Abstractions;

namespace QcPipeline.Service.Tests;

/// <summary>C-STORE with DCMTK as the peer: what is stored, what is indexed, duplicates and replacements.</summary>
public sealed class StoreTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Echo_store_several_CT_then_duplicates_then_a_replacement()
    {
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var echo = await Support.EchoScuAsync(svc.DicomPort);
            Assert.True(echo.ExitCode == 0, echo.All);

            var files = Support.MakeCtFiles(input, 5);
            var sw = Stopwatch.StartNew();
            var store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path));
            sw.Stop();
            Assert.True(store.ExitCode == 0, store.All);
            var responses = Support.StoreResponses(store.All);
            Assert.Equal(5, responses.Count);
            Assert.All(responses.Values, v => Assert.Equal("Success", v));
            output.WriteLine($"5 CT instances (0.5 MB each) over one association, fsync on: {sw.Elapsed.TotalMilliseconds / 5:F1} ms per instance (storescu process start included)");

            var rows = Support.Rows(svc.DbPath);
            Assert.Equal(5, rows.Count);
            foreach (var f in files)
            {
                var row = Assert.Single(rows, r => r.SopInstanceUid == f.SopInstanceUid);
                Assert.Equal($"instances/{f.StudyUid}/{f.SeriesUid}/{f.SopInstanceUid}.dcm", row.Path);
                Assert.Equal(1, row.Version);
                Assert.Equal("dimse", row.Source);
                Assert.Equal("STORESCU", row.CallingAe);
                var stored = Path.Combine(svc.DataPath, row.Path);
                Assert.Equal(new FileInfo(stored).Length, row.Size);
                Assert.Equal(await Support.DumpDatasetAsync(f.Path), await Support.DumpDatasetAsync(stored));
            }
            Assert.Empty(Directory.GetFiles(Path.Combine(svc.DataPath, "tmp")));

            // Again: duplicates, answered with success, still one row each.
            store = await Support.StoreScuAsync(svc.DicomPort, files.Select(f => f.Path));
            Assert.True(store.ExitCode == 0, store.All);
            Assert.All(Support.StoreResponses(store.All).Values, v => Assert.Equal("Success", v));
            Assert.Equal(5, Support.Rows(svc.DbPath).Count);
            Assert.Equal(5, svc.Metrics.IngestTotal.WithLabels("duplicate").Value);
            Assert.Equal(5, svc.Metrics.IngestTotal.WithLabels("stored").Value);

            // One of them with changed content: replaced, newest kept, an event appended.
            var changed = files[2];
            var changedPath = Path.Combine(input, "changed.dcm");
            Support.WriteVariant(changedPath, changed.StudyUid, changed.SeriesUid, changed.SopInstanceUid, 3, "Re-sent with a new description");
            var before = Assert.Single(Support.Rows(svc.DbPath), r => r.SopInstanceUid == changed.SopInstanceUid);
            store = await Support.StoreScuAsync(svc.DicomPort, [changedPath]);
            Assert.True(store.ExitCode == 0, store.All);
            var after = Assert.Single(Support.Rows(svc.DbPath), r => r.SopInstanceUid == changed.SopInstanceUid);
            Assert.Equal(2, after.Version);
            Assert.NotEqual(before.Sha256, after.Sha256);
            Assert.Equal(5, Support.Rows(svc.DbPath).Count);
            var ev = Assert.Single(Support.Events(svc.DbPath));
            Assert.Equal(("replaced", before.Sha256, after.Sha256), (ev.Kind, ev.Old, ev.New));
            Assert.Equal(changed.SopInstanceUid, ev.Sop);
            Assert.Equal(await Support.DumpDatasetAsync(changedPath), await Support.DumpDatasetAsync(Path.Combine(svc.DataPath, after.Path)));
            Assert.Equal(1, svc.Metrics.IngestTotal.WithLabels("replaced").Value);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task An_invalid_Study_Instance_UID_is_refused_with_0117_over_DIMSE()
    {
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var bad = Path.Combine(input, "bad.dcm");
            Support.WriteVariant(bad, "1.2..3", Support.NewUid(), Support.NewUid(), 1, null);
            var good = Support.MakeCtFiles(input, 1)[0];
            // storescu ends an association after a failure status, so one association each.
            var store = await Support.StoreScuAsync(svc.DicomPort, [bad]);
            Assert.Equal("Unknown Status: 0x117", Support.StoreResponses(store.All)[bad]); // DCMTK's wording for 0117 (invalid SOP instance, PS3.7 §C.5.8)
            store = await Support.StoreScuAsync(svc.DicomPort, [good.Path]);
            Assert.Equal("Success", Support.StoreResponses(store.All)[good.Path]);
            Assert.Equal(good.SopInstanceUid, Assert.Single(Support.Rows(svc.DbPath)).SopInstanceUid);
            Assert.Equal(1, svc.Metrics.InstancesTotal.WithLabels("failure", "0117").Value);
            Assert.Equal(1, svc.Metrics.IngestFailuresTotal.WithLabels("invalid_uid").Value);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }

    [Fact]
    public async Task RLE_compressed_phantom_images_are_stored_as_received()
    {
        await using var svc = await InProcessService.StartAsync();
        var files = Directory.GetFiles(Path.Combine(Support.RepoRoot, "phantoms", "ct-water-200mm"), "*.dcm");
        var store = await Support.StoreScuAsync(svc.DicomPort, files, options: ["-xr"]); // propose RLE Lossless as well
        Assert.True(store.ExitCode == 0, store.All);
        var rows = Support.Rows(svc.DbPath);
        Assert.Equal(files.Length, rows.Count);
        foreach (var row in rows)
        {
            var stored = Path.Combine(svc.DataPath, row.Path);
            var original = files.Single(f => Support.DatasetSha256(f) == row.Sha256); // byte-identical data set
            Assert.Equal(await Support.DumpDatasetAsync(original), await Support.DumpDatasetAsync(stored));
            using var h = Dicom.DicomFile.Open(stored, Dicom.IO.DicomReadOptions.HeaderOnly);
            Assert.Equal(Dicom.DicomUids.RLELossless, h.TransferSyntax.Uid);
        }
    }

    [Fact]
    public async Task Concurrent_associations_share_index_commits()
    {
        var input = Support.NewTempDir("qcin");
        await using var svc = await InProcessService.StartAsync();
        try
        {
            var sets = Enumerable.Range(0, 4).Select(i => Support.MakeCtFiles(Path.Combine(input, $"s{i}"), 5)).ToList();
            var sw = Stopwatch.StartNew();
            var results = await Task.WhenAll(sets.Select(s => Support.StoreScuAsync(svc.DicomPort, s.Select(f => f.Path))));
            sw.Stop();
            Assert.All(results, r => Assert.True(r.ExitCode == 0 && Support.StoreResponses(r.All).Values.All(v => v == "Success"), r.All));
            Assert.Equal(20, Support.Rows(svc.DbPath).Count);
            var batches = svc.Services.GetService(typeof(Index.IndexWriter)) is Index.IndexWriter w ? w.BatchesCommitted : -1;
            output.WriteLine($"20 CT instances over 4 concurrent associations: {sw.Elapsed.TotalMilliseconds / 20:F1} ms per instance, {batches} index transactions");
            Assert.InRange(batches, 1, 20);
        }
        finally
        {
            Support.TryDeleteDir(input);
        }
    }
}
