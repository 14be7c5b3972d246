using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Cli.Tests.Network;

public class SendCommandTests
{
    private static readonly DicomTag PixelData = new(0x7FE00010);

    /// <summary>Uncompressed files in each native syntax next to the RLE sample series: CT_small (explicit LE), rtplan
    /// (implicit LE, no pixel data), image_dfl (deflated), ExplVR_BigEnd (big endian), a JPEG-LS file, and a generated
    /// explicit-LE MR phantom.</summary>
    private static void FillMixedInput(string folder)
    {
        foreach (var f in Peers.CtSeries) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        foreach (var name in new[] { "CT_small.dcm", "rtplan.dcm", "image_dfl.dcm", "ExplVR_BigEnd.dcm", "MR_small_jpeg_ls_lossless.dcm" })
            File.Copy(CliRunner.Pydicom(name), Path.Combine(folder, name));
        var mr = Path.Combine(folder, "mr");
        var r = CliRunner.Run("phantom", "mr", "--matrix", "64", "--images", "1", "--ts", "explicit-le", "-o", mr);
        Assert.True(r.ExitCode == 0, r.Error);
        File.Delete(Path.Combine(mr, "manifest.json"));
    }

    private static string SopInstance(string path)
    {
        using var file = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        return file.Dataset.GetString(DicomTags.SOPInstanceUID)!;
    }

    /// <summary>dcmdump's lines for the data set (after "# Dicom-Data-Set"): group 0002 is the receiver's own.</summary>
    private static string[] DatasetDump(string path)
    {
        var (code, output) = CliRunner.Dcmtk("dcmdump", "-q", path);
        Assert.True(code == 0, output);
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int start = lines.FindIndex(l => l.StartsWith("# Dicom-Data-Set", StringComparison.Ordinal));
        return start < 0 ? [.. lines.Where(l => l.Length > 0)] : [.. lines.Skip(start + 1).Where(l => l.Length > 0)];
    }

    private static byte[] DatasetBytes(string path)
    {
        using var file = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        return File.ReadAllBytes(path).AsSpan((int)file.DatasetOffset).ToArray();
    }

    [Fact]
    public void Keep_sends_every_file_in_its_own_syntax_and_storescp_stores_the_same_data_sets()
    {
        using var input = new CliRunner.TempDir();
        using var received = new CliRunner.TempDir();
        FillMixedInput(input.Path);
        var originals = Directory.GetFiles(input.Path, "*.dcm", SearchOption.AllDirectories);
        using var scp = new Storescp(received.Path, "+xa", "+B");

        var r = CliRunner.Run("send", "127.0.0.1", Peers.Port(scp.Port), input.Path, "--aec", "QCPIPE", "--aet", "QCSCU");

        Assert.True(r.ExitCode == 0, r.Out + r.Error + scp.Log);
        Assert.StartsWith($"sent {originals.Length}, warnings 0, failed 0; ", r.Out, StringComparison.Ordinal);
        Assert.Equal("", r.Error);
        var stored = scp.Received();
        Assert.Equal(originals.Length, stored.Count);
        foreach (var original in originals)
        {
            Assert.True(stored.TryGetValue(SopInstance(original), out var copy), $"{original} did not arrive");
            Assert.Equal(DatasetDump(original), DatasetDump(copy));
            using var o = DicomFile.Open(original, DicomReadOptions.HeaderOnly);
            using var c = DicomFile.Open(copy, DicomReadOptions.HeaderOnly);
            Assert.Equal(o.TransferSyntax, c.TransferSyntax);
            // Streamed from the file: storescp (+B) wrote the very bytes we sent. A deflated stream of odd length gains one NUL.
            var expected = DatasetBytes(original);
            var actual = DatasetBytes(copy);
            if (o.TransferSyntax.IsDeflated && expected.Length % 2 == 1) expected = [.. expected, 0];
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"data set bytes of {original} differ");
        }
    }

    [Fact]
    public void An_SCP_that_accepts_only_uncompressed_syntaxes_gets_the_RLE_series_decompressed_to_explicit_LE()
    {
        using var received = new CliRunner.TempDir();
        using var reference = new CliRunner.TempDir();
        using var scp = new Storescp(received.Path, "+B"); // storescp's default: uncompressed syntaxes only

        var r = CliRunner.Run(["send", "127.0.0.1", Peers.Port(scp.Port), .. Peers.CtSeries, "--no-progress"]);

        Assert.True(r.ExitCode == 0, r.Out + r.Error + scp.Log);
        Assert.StartsWith($"sent {Peers.CtSeries.Length}, warnings 0, failed 0; ", r.Out, StringComparison.Ordinal);
        var stored = scp.Received();
        foreach (var original in Peers.CtSeries)
        {
            var copy = stored[SopInstance(original)];
            using var c = DicomFile.Open(copy);
            Assert.Equal(TransferSyntax.ExplicitVRLittleEndian, c.TransferSyntax);

            // DCMTK decompresses the same file independently: the samples must be identical.
            var decompressed = Path.Combine(reference.Path, Path.GetFileName(original));
            var (code, log) = CliRunner.Dcmtk("dcmdrle", original, decompressed);
            Assert.True(code == 0, log);
            using var d = DicomFile.Open(decompressed);
            Assert.True(d.Dataset.GetElement(PixelData)!.Data.Span.SequenceEqual(c.Dataset.GetElement(PixelData)!.Data.Span), $"pixels of {original} differ");

            // And through our own decoder, as values.
            using var o = DicomFile.Open(original);
            var expected = DicomPixelData.Create(o.Dataset).GetModalityFrame(0, o.TransferSyntax);
            var actual = DicomPixelData.Create(c.Dataset).GetModalityFrame(0, c.TransferSyntax);
            Assert.Equal(expected, actual);

            // Everything but the pixel data is as it was.
            static string[] WithoutPixels(string[] dump) =>
                [.. dump.Where(l => !l.StartsWith("# Used TransferSyntax", StringComparison.Ordinal)
                                    && !l.StartsWith("(7fe0,0010)", StringComparison.Ordinal) && !l.StartsWith("  (fffe,e000)", StringComparison.Ordinal)
                                    && !l.StartsWith("(fffe,e0dd)", StringComparison.Ordinal))];
            Assert.Equal(WithoutPixels(DatasetDump(original)), WithoutPixels(DatasetDump(copy)));
        }
    }

    [Fact]
    public async Task A_failure_status_names_the_file_and_the_status_and_the_other_files_are_stored()
    {
        string failing = CliRunner.Pydicom("CT_small.dcm");
        string failingUid = SopInstance(failing);
        var handler = new MemoryStoreHandler
        {
            Decide = (rq, _) => rq.SopInstanceUid == failingUid
                ? throw new StoreFailedException(DicomStatus.OutOfResources, "disk full")
                : Task.FromResult(StoreOutcome.Success),
        };
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE" }, handler);

        var r = await Task.Run(() => CliRunner.Run(["send", "127.0.0.1", Peers.Port(server.Port), Peers.CtSeries[0], failing, Peers.CtSeries[1]]));

        Assert.Equal(1, r.ExitCode);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("sent 2, warnings 0, failed 1; ", lines[0], StringComparison.Ordinal);
        Assert.Contains($"failed: {failing}: Refused: out of resources (0xA700): disk full", lines);
        Assert.Equal(2, lines.Length);
        Assert.Equal(Peers.CtSeries.Select(SopInstance).Order(), handler.Stored.Select(s => s.Request.SopInstanceUid).Order());
    }

    [Fact]
    public async Task A_warning_status_counts_as_sent_and_is_listed()
    {
        string warned = Peers.CtSeries[1];
        string warnedUid = SopInstance(warned);
        var handler = new MemoryStoreHandler
        {
            Decide = (rq, _) => Task.FromResult(rq.SopInstanceUid == warnedUid ? new StoreOutcome(DicomStatus.CoercionOfDataElements, "patient name coerced") : StoreOutcome.Success),
        };
        await using var server = new TestServer(new DicomServerOptions(), handler);

        var r = await Task.Run(() => CliRunner.Run(["send", "127.0.0.1", Peers.Port(server.Port), .. Peers.CtSeries]));

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.StartsWith("sent 2, warnings 1, failed 0; ", r.Out, StringComparison.Ordinal);
        Assert.Contains($"warning: {warned}: Warning: coercion of data elements (0xB000): patient name coerced", r.Out, StringComparison.Ordinal);
        Assert.Equal(2, handler.Stored.Count);
    }

    [Fact]
    public async Task A_file_that_is_not_DICOM_is_reported_and_the_rest_are_sent()
    {
        using var input = new CliRunner.TempDir();
        foreach (var f in Peers.CtSeries) File.Copy(f, input.File(Path.GetFileName(f)));
        var notes = input.File("notes.txt");
        await File.WriteAllTextAsync(notes, "scanned on Tuesday; phantom centred\n");
        var handler = new MemoryStoreHandler();
        await using var server = new TestServer(new DicomServerOptions(), handler);

        var r = await Task.Run(() => CliRunner.Run("send", "127.0.0.1", Peers.Port(server.Port), input.Path));

        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"qc: {notes}: not readable DICOM", r.Error, StringComparison.Ordinal);
        Assert.StartsWith("sent 2, warnings 0, failed 1; ", r.Out, StringComparison.Ordinal);
        Assert.Contains($"failed: {notes}: not readable DICOM", r.Out, StringComparison.Ordinal);
        Assert.Equal(2, handler.Stored.Count);
    }

    [Fact]
    public async Task An_association_aborted_mid_way_is_reestablished_and_only_the_instance_in_flight_is_lost()
    {
        string lost = CliRunner.Pydicom("CT_small.dcm");
        string lostUid = SopInstance(lost);
        string after = CliRunner.Pydicom("rtplan.dcm");
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = new MemoryStoreHandler
        {
            Decide = async (rq, ct) =>
            {
                if (rq.SopInstanceUid != lostUid) return StoreOutcome.Success;
                reached.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct); // until the server is stopped, which aborts the association
                return StoreOutcome.Success;
            },
        };
        var second = new MemoryStoreHandler();
        var options = new DicomServerOptions { AcceptAbstractSyntax = _ => true };
        await using var server = new TestServer(options, first);

        var send = Task.Run(() => CliRunner.Run(["send", "127.0.0.1", Peers.Port(server.Port), Peers.CtSeries[0], Peers.CtSeries[1], lost, after]));
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await server.RestartAsync(options, second);
        var r = await send.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("sent 3, warnings 0, failed 1; ", r.Out, StringComparison.Ordinal);
        Assert.Contains($"failed: {lost}: association aborted by the peer", r.Out, StringComparison.Ordinal);
        Assert.Contains("qc: association aborted by the peer", r.Error, StringComparison.Ordinal);
        Assert.Equal(2, first.Stored.Count);
        Assert.Equal(SopInstance(after), Assert.Single(second.Stored).Request.SopInstanceUid);
    }

    [Fact]
    public async Task Cancelling_aborts_the_association_and_lists_the_files_not_sent()
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new MemoryStoreHandler
        {
            Decide = async (_, ct) =>
            {
                reached.TrySetResult();
                await release.Task.WaitAsync(ct); // a slow peer: the operator gives up before it answers
                return StoreOutcome.Success;
            },
        };
        var server = new TestServer(new DicomServerOptions(), handler);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var cts = new CancellationTokenSource();
        var request = new Commands.SendCommand.SendRequest("127.0.0.1", server.Port, new DicomClientOptions { CalledAeTitle = "QCPIPE" },
            Peers.CtSeries, Target: null, Recursive: true, Progress: false);

        var send = Commands.SendCommand.ExecuteAsync(new CliConsole(stdout, stderr), request, cts.Token);
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await cts.CancelAsync(); // what Ctrl+C does (Network/Interruption)
        int code = await send.WaitAsync(TimeSpan.FromSeconds(10));
        release.SetResult(); // the server reads on after its handler returns, and finds our A-ABORT
        for (int i = 0; i < 100 && server.Summaries.IsEmpty; i++) await Task.Delay(50);
        await server.DisposeAsync();

        Assert.Equal(1, code);
        Assert.StartsWith("sent 0, warnings 0, failed 2; ", stdout.ToString(), StringComparison.Ordinal);
        foreach (var f in Peers.CtSeries) Assert.Contains($"failed: {f}: not sent: cancelled", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal("qc: cancelled; 2 file(s) not sent", stderr.ToString().Trim());
        Assert.True(server.Summaries.Any(s => s.Outcome == AssociationOutcome.AbortedByPeer), string.Join("; ", server.Summaries));
    }

    [Fact]
    public async Task More_than_127_presentation_contexts_are_spread_over_several_associations()
    {
        using var input = new CliRunner.TempDir();
        const int classes = 130;
        for (int i = 0; i < classes; i++)
        {
            var ds = new DicomDataset();
            ds.AddOrUpdate(DicomTags.SOPClassUID, DicomVR.UI, $"1.2.826.0.1.3680043.9.7433.1.{i + 1}");
            ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, $"2.25.{1000 + i}");
            ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, "QC-PHANTOM");
            new DicomFile(ds).Save(input.File($"f{i:D3}.dcm"), TransferSyntax.ExplicitVRLittleEndian);
        }
        var files = Directory.GetFiles(input.Path).Order(StringComparer.Ordinal).Select(StoreScuFile.Read).ToList();
        var plan = StoreScu.Plan(files, target: null);
        Assert.True(plan.Count > 1);
        Assert.All(plan, a =>
        {
            Assert.InRange(a.Contexts.Count, 1, StoreScu.MaxContextsPerAssociation);
            Assert.All(a.Contexts, c => Assert.Equal(1, c.Id % 2));
            Assert.Equal(a.Contexts.Count, a.Contexts.Select(c => c.Id).Distinct().Count());
        });
        Assert.Equal(classes, plan.Sum(a => a.Files.Count));

        var handler = new MemoryStoreHandler();
        await using var server = new TestServer(new DicomServerOptions { AcceptAbstractSyntax = _ => true }, handler);
        var r = await Task.Run(() => CliRunner.Run("send", "127.0.0.1", Peers.Port(server.Port), input.Path));

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.StartsWith($"sent {classes}, warnings 0, failed 0; ", r.Out, StringComparison.Ordinal);
        Assert.Equal(classes, handler.Stored.Select(s => s.Request.SopClassUid).Distinct().Count());
    }

    [Fact]
    public async Task A_chosen_syntax_is_used_for_every_file()
    {
        var handler = new MemoryStoreHandler();
        await using var server = new TestServer(new DicomServerOptions(), handler);

        var r = await Task.Run(() => CliRunner.Run(["send", "127.0.0.1", Peers.Port(server.Port), .. Peers.CtSeries, CliRunner.Pydicom("CT_small.dcm"), "--ts", "implicit-le"]));

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Equal(3, handler.Stored.Count);
        Assert.All(handler.Stored, s => Assert.Equal(DicomUids.ImplicitVRLittleEndian, s.Request.TransferSyntaxUid));
        // The received data set parses as implicit VR LE and has the decompressed samples.
        var ct1 = handler.Stored.Single(s => s.Request.SopInstanceUid == SopInstance(Peers.CtSeries[0]));
        using var o = DicomFile.Open(Peers.CtSeries[0]);
        using var received = DicomFile.Read(ct1.Data); // a bare data set: its encoding is recognised from the first element
        Assert.Equal(TransferSyntax.ImplicitVRLittleEndian, received.TransferSyntax);
        Assert.Equal(DicomPixelData.Create(o.Dataset).GetModalityFrame(0, o.TransferSyntax),
            DicomPixelData.Create(received.Dataset).GetModalityFrame(0, TransferSyntax.ImplicitVRLittleEndian));
    }

    [Fact]
    public async Task Rle_compresses_uncompressed_files_on_the_way()
    {
        var handler = new MemoryStoreHandler();
        await using var server = new TestServer(new DicomServerOptions(), handler);
        var original = CliRunner.Pydicom("CT_small.dcm");

        var r = await Task.Run(() => CliRunner.Run("send", "127.0.0.1", Peers.Port(server.Port), original, "--ts", "rle"));

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        var stored = Assert.Single(handler.Stored);
        Assert.Equal(DicomUids.RLELossless, stored.Request.TransferSyntaxUid);
        using var o = DicomFile.Open(original);
        using var ms = new MemoryStream();
        // Put File Meta Information saying RLE in front of the received data set, so the reader knows its syntax.
        DicomWriter.WriteFile(ms, new DicomFile(new DicomDataset()), TransferSyntax.RleLossless, DicomWriteOptions.Default);
        using var received = DicomFile.Read([.. ms.ToArray(), .. stored.Data]);
        Assert.Equal(TransferSyntax.RleLossless, received.TransferSyntax);
        Assert.Equal(DicomPixelData.Create(o.Dataset).GetModalityFrame(0, o.TransferSyntax),
            DicomPixelData.Create(received.Dataset).GetModalityFrame(0, received.TransferSyntax));
    }

    [Fact]
    public async Task Recursive_false_sends_only_the_files_directly_in_a_folder()
    {
        using var input = new CliRunner.TempDir();
        Directory.CreateDirectory(input.File("sub"));
        File.Copy(Peers.CtSeries[0], input.File("CT0001.dcm"));
        File.Copy(Peers.CtSeries[1], Path.Combine(input.File("sub"), "CT0002.dcm"));
        var handler = new MemoryStoreHandler();
        await using var server = new TestServer(new DicomServerOptions(), handler);

        var flat = await Task.Run(() => CliRunner.Run("send", "127.0.0.1", Peers.Port(server.Port), input.Path, "--recursive", "false"));
        Assert.True(flat.ExitCode == 0, flat.Out + flat.Error);
        Assert.Equal(SopInstance(Peers.CtSeries[0]), Assert.Single(handler.Stored).Request.SopInstanceUid);

        var deep = await Task.Run(() => CliRunner.Run("send", "127.0.0.1", Peers.Port(server.Port), input.Path));
        Assert.True(deep.ExitCode == 0, deep.Out + deep.Error);
        Assert.Equal(3, handler.Stored.Count);
    }

    [Fact]
    public async Task A_file_that_cannot_be_converted_to_the_chosen_syntax_fails_before_associating()
    {
        var handler = new MemoryStoreHandler();
        await using var server = new TestServer(new DicomServerOptions(), handler);
        var lossy = CliRunner.Pydicom("JPEG-lossy.dcm");

        var r = await Task.Run(() => CliRunner.Run("send", "127.0.0.1", Peers.Port(server.Port), lossy, Peers.CtSeries[0], "--ts", "explicit-le"));

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"failed: {lossy}: cannot be converted from JPEG Extended (Process 2 & 4) to Explicit VR Little Endian", r.Out, StringComparison.Ordinal);
        Assert.Single(handler.Stored);
    }

    [Fact]
    public void An_unreachable_peer_fails_every_file_with_one_clear_message()
    {
        int port = Peers.FreePort();
        var r = CliRunner.Run(["send", "127.0.0.1", Peers.Port(port), .. Peers.CtSeries]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"qc: cannot connect to 127.0.0.1:{port}: connection refused", r.Error.Trim());
        Assert.StartsWith("sent 0, warnings 0, failed 2; ", r.Out, StringComparison.Ordinal);
        Assert.Contains($"failed: {Peers.CtSeries[0]}: not sent: cannot connect", r.Out, StringComparison.Ordinal);
    }
}
