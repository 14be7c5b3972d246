using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;
using QcPipeline.Dicom.Tests.Fuzz;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A TCP proxy on loopback that records what the client sends (one connection per <see cref="RecordOne"/>).</summary>
internal static class RecordingProxy
{
    /// <summary>Accepts one connection on a new port, relays it to <paramref name="targetPort"/>, and returns the
    /// client-to-server bytes once both directions have ended. <paramref name="runClient"/> gets the proxy port.</summary>
    public static async Task<byte[]> RecordOne(int targetPort, Func<int, Task> runClient, CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var accept = listener.AcceptTcpClientAsync(ct).AsTask();
            var client = runClient(port);
            using var from = await accept;
            using var to = new TcpClient { NoDelay = true };
            from.NoDelay = true;
            await to.ConnectAsync(IPAddress.Loopback, targetPort, ct);
            var recorded = new MemoryStream();
            var up = Pump(from.GetStream(), to.GetStream(), to.Client, recorded, ct);
            var down = Pump(to.GetStream(), from.GetStream(), from.Client, null, ct);
            await Task.WhenAll(up, down, client);
            return recorded.ToArray();
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task Pump(NetworkStream source, NetworkStream target, Socket targetSocket, MemoryStream? record, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await source.ReadAsync(buffer, ct)) > 0)
            {
                record?.Write(buffer, 0, n);
                await target.WriteAsync(buffer.AsMemory(0, n), ct);
            }
        }
        catch (IOException) { /* the other side went away */ }
        try { targetSocket.Shutdown(SocketShutdown.Send); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }
}

/// <summary>Replays mutated copies of real storescu and echoscu sessions (captured through a recording proxy) to a
/// running <see cref="DicomServer"/>: bit flips, truncation, changed PDU and PDV lengths, duplicated, removed and
/// swapped PDUs. Every case must end, within seconds, in an A-ABORT, a release or reject, or a closed connection;
/// no association may fail with an unexpected exception; the file handler must leave no partial file and every
/// opened sink must be completed or abandoned; and the server must still serve DCMTK afterwards.</summary>
public sealed class SessionFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Cases = 320;
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(6);
    private readonly string _dir = Directory.CreateTempSubdirectory("qc-session-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A small Secondary Capture image (a few KB), so a session is a handful of PDUs and most mutations hit
    /// protocol structure rather than pixel values.</summary>
    private static string SmallInstance(string path, int n)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 100");
        ds.AddOrUpdate(DicomTags.SOPClassUID, DicomVR.UI, "1.2.840.10008.5.1.4.1.1.7");
        ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, PeerInputs.NewUid());
        ds.AddOrUpdate(DicomTags.Modality, DicomVR.CS, "OT");
        ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, "FUZZ^PHANTOM");
        ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, "QC-FUZZ");
        ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, PeerInputs.NewUid());
        ds.AddOrUpdate(DicomTags.SeriesInstanceUID, DicomVR.UI, PeerInputs.NewUid());
        ds.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ds.AddOrUpdate(DicomTags.SamplesPerPixel, DicomVR.US, (ushort)1);
        ds.AddOrUpdate(DicomTags.PhotometricInterpretation, DicomVR.CS, "MONOCHROME2");
        ds.AddOrUpdate(DicomTags.Rows, DicomVR.US, (ushort)48);
        ds.AddOrUpdate(DicomTags.Columns, DicomVR.US, (ushort)48);
        ds.AddOrUpdate(DicomTags.BitsAllocated, DicomVR.US, (ushort)8);
        ds.AddOrUpdate(DicomTags.BitsStored, DicomVR.US, (ushort)8);
        ds.AddOrUpdate(DicomTags.HighBit, DicomVR.US, (ushort)7);
        ds.AddOrUpdate(DicomTags.PixelRepresentation, DicomVR.US, (ushort)0);
        var pixels = new byte[48 * 48];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7 + n);
        ds.AddOrUpdate(new DicomElement(DicomTags.PixelData, DicomVR.OB, pixels));
        new DicomFile(ds, null, TransferSyntax.ExplicitVRLittleEndian).Save(path, TransferSyntax.ExplicitVRLittleEndian);
        return path;
    }

    /// <summary>Splits a recorded byte stream into PDUs by their headers.</summary>
    private static List<byte[]> SplitPdus(byte[] stream)
    {
        var list = new List<byte[]>();
        int o = 0;
        while (o + 6 <= stream.Length)
        {
            int len = checked((int)BinaryPrimitives.ReadUInt32BigEndian(stream.AsSpan(o + 2)));
            list.Add(stream[o..(o + 6 + len)]);
            o += 6 + len;
        }
        Assert.Equal(stream.Length, o);
        return list;
    }

    private sealed record Mutant(string Id, byte[] Bytes, bool HalfClose);

    private static Mutant Mutate(List<byte[]> session, string name, int seed)
    {
        var r = new Random(seed);
        var pdus = session.Select(p => (byte[])p.Clone()).ToList();
        var what = new List<string>();
        int rounds = r.Next(10) == 0 ? 2 : 1;
        bool truncateAt = false;
        int truncateOffset = 0;
        for (int k = 0; k < rounds; k++)
        {
            int i = r.Next(pdus.Count);
            switch (r.Next(8))
            {
                case 0: // bit flips anywhere in one PDU, headers included
                    for (int n = r.Next(1, 4); n > 0; n--)
                    {
                        int at = r.Next(pdus[i].Length);
                        pdus[i][at] ^= (byte)(1 << r.Next(8));
                        what.Add($"flip pdu{i}@{at}");
                    }
                    break;
                case 1: // truncate the whole session
                    truncateAt = true;
                    truncateOffset = r.Next(pdus.Sum(p => p.Length));
                    what.Add($"truncate@{truncateOffset}");
                    break;
                case 2: // PDU length field changed
                {
                    uint old = BinaryPrimitives.ReadUInt32BigEndian(pdus[i].AsSpan(2));
                    uint len = r.Next(3) switch { 0 => (uint)Math.Max(0, (int)old + r.Next(-8, 9)), 1 => (uint)r.Next(0, 70000), _ => (uint)r.NextInt64(0, uint.MaxValue + 1L) };
                    BinaryPrimitives.WriteUInt32BigEndian(pdus[i].AsSpan(2), len);
                    what.Add($"pdu{i} length {old}->{len}");
                    break;
                }
                case 3: // PDV item length (P-DATA-TF) or a variable item length (A-ASSOCIATE-RQ)
                {
                    if (pdus[i].Length < 12) goto case 0;
                    int at = pdus[i][0] == (byte)PduType.PDataTransfer ? 6 : r.Next(6, pdus[i].Length - 4);
                    uint len = (uint)r.Next(0, 3) switch { 0 => (uint)r.Next(0, 16), 1 => (uint)r.Next(0, 70000), _ => 0xFFFFFFFF };
                    if (pdus[i][0] == (byte)PduType.PDataTransfer) BinaryPrimitives.WriteUInt32BigEndian(pdus[i].AsSpan(at), len);
                    else BinaryPrimitives.WriteUInt16BigEndian(pdus[i].AsSpan(at), (ushort)len);
                    what.Add($"pdu{i} item length@{at}={len}");
                    break;
                }
                case 4: // duplicated PDU
                    pdus.Insert(i, (byte[])pdus[i].Clone());
                    what.Add($"dup pdu{i}");
                    break;
                case 5: // removed PDU
                    if (pdus.Count > 1) { pdus.RemoveAt(i); what.Add($"drop pdu{i}"); }
                    break;
                case 6: // swapped neighbours
                    if (i + 1 < pdus.Count) { (pdus[i], pdus[i + 1]) = (pdus[i + 1], pdus[i]); what.Add($"swap pdu{i}"); }
                    break;
                default: // random bytes over a stretch of one PDU body (a command, a data set, an item)
                {
                    if (pdus[i].Length <= 6) goto case 0;
                    int at = r.Next(6, pdus[i].Length);
                    int n = Math.Min(pdus[i].Length - at, r.Next(1, 16));
                    r.NextBytes(pdus[i].AsSpan(at, n));
                    what.Add($"garble pdu{i}@{at}+{n}");
                    break;
                }
            }
        }
        var bytes = pdus.SelectMany(p => p).ToArray();
        if (truncateAt) bytes = bytes[..Math.Min(truncateOffset, bytes.Length)];
        // Mostly the peer half-closes after sending (end of stream is part of the case); sometimes it just goes
        // silent with the connection open, and the server's ARTIM / idle timer must end it.
        bool halfClose = r.Next(20) != 0;
        return new Mutant($"{name} seed {seed}: {string.Join(", ", what)}{(halfClose ? "" : ", silent")}", bytes, halfClose);
    }

    private sealed record CaseResult(string Id, string End, TimeSpan Elapsed);

    private static async Task<CaseResult> Replay(int port, Mutant m, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        var stream = tcp.GetStream();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(CaseLimit);

        // Read whatever the server answers until it closes; the last PDU tells how it ended.
        var reading = Task.Run(async () =>
        {
            var reader = new PduReader(1024 * 1024);
            string last = "nothing";
            try
            {
                while (await reader.ReadAsync(stream, limit.Token) is { } pdu) last = pdu.Type.ToString();
                return last + "+closed";
            }
            catch (OperationCanceledException) { return last + "+HUNG"; }
            catch (IOException) { return last + "+reset"; }
            catch (DicomNetworkException ex) { return last + "+malformed answer: " + ex.Message; }
        }, CancellationToken.None);

        try
        {
            // In pieces, as a real peer would, so the server sees PDUs split across reads.
            for (int o = 0; o < m.Bytes.Length; o += 1500)
                await stream.WriteAsync(m.Bytes.AsMemory(o, Math.Min(1500, m.Bytes.Length - o)), limit.Token);
            if (m.HalfClose) tcp.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // The server aborted and closed while we were still sending: fine.
        }
        var end = await reading;
        return new CaseResult(m.Id, end, sw.Elapsed);
    }

    [Fact]
    public async Task Mutated_real_sessions_end_cleanly_and_the_server_keeps_serving()
    {
        var started = Stopwatch.StartNew();
        var handler = new FileStoreHandler(Path.Combine(_dir, "store")) { KeepDuplicates = true };
        var options = new DicomServerOptions
        {
            AeTitle = "QCPIPE",
            MaxPduLength = 1024, // several PDUs per data set
            IdleTimeout = TimeSpan.FromSeconds(1),
            ArtimTimeout = TimeSpan.FromSeconds(1),
            MaxAssociations = 64,
        };
        var unobserved = new ConcurrentQueue<Exception>();
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) => { if (e.Exception.ToString().Contains("QcPipeline.Dicom.Network", StringComparison.Ordinal)) unobserved.Enqueue(e.Exception); };
        TaskScheduler.UnobservedTaskException += onUnobserved;
        try
        {
            await using var server = new TestServer(options, handler);

            // 1. Capture real sessions: storescu with three instances (-xe), and echoscu.
            var files = Enumerable.Range(1, 3).Select(n => SmallInstance(Path.Combine(_dir, $"sc{n}.dcm"), n)).ToArray();
            var storeSession = await RecordingProxy.RecordOne(server.Port, async port =>
            {
                var r = await PeerTool.RunAsync("storescu", ["-xe", "-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. files]);
                Assert.True(r.ExitCode == 0, r.ToString());
            }, server.Token);
            var echoSession = await RecordingProxy.RecordOne(server.Port, async port =>
            {
                var r = await PeerTool.RunAsync("echoscu", ["-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                Assert.True(r.ExitCode == 0, r.ToString());
            }, server.Token);
            await server.WaitForSummaries(2);
            Assert.Equal(3, handler.Completed);
            var sessions = new[] { ("storescu", SplitPdus(storeSession)), ("echoscu", SplitPdus(echoSession)) };
            output.WriteLine($"captured storescu: {sessions[0].Item2.Count} PDUs ({storeSession.Length} bytes), echoscu: {sessions[1].Item2.Count} PDUs");
            Assert.True(sessions[0].Item2.Count >= 8, "the data sets should span several PDUs");

            // The unmutated replay is a good session: the server answers and releases.
            var clean = await Replay(server.Port, new Mutant("storescu unmutated", storeSession, true), server.Token);
            Assert.Equal("ReleaseResponse+closed", clean.End);

            // 2. Mutants, four at a time.
            var mutants = Enumerable.Range(0, Cases).Select(i => i % 5 == 4 ? Mutate(sessions[1].Item2, "echoscu", i) : Mutate(sessions[0].Item2, "storescu", i)).ToList();
            var results = new ConcurrentBag<CaseResult>();
            await Parallel.ForEachAsync(mutants, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = server.Token }, async (m, ct) =>
            {
                var res = await Replay(server.Port, m, ct);
                results.Add(res);
                if (res.End.Contains("HUNG", StringComparison.Ordinal) || res.End.Contains("malformed", StringComparison.Ordinal))
                {
                    Directory.CreateDirectory(FuzzHarness.FailureDir);
                    await File.WriteAllBytesAsync(Path.Combine(FuzzHarness.FailureDir, $"session-{m.Id.Split(':')[0].Replace(' ', '-')}.bin"), m.Bytes, ct);
                }
            });
            var summaries = await server.WaitForSummaries(2 + 1 + Cases, TimeSpan.FromSeconds(30));

            foreach (var g in results.GroupBy(r => r.End).OrderByDescending(g => g.Count())) output.WriteLine($"{g.Count(),4}  {g.Key}");
            foreach (var g in summaries.GroupBy(s => s.Outcome)) output.WriteLine($"{g.Count(),4}  {g.Key}");
            output.WriteLine($"slowest case {results.Max(r => r.Elapsed).TotalMilliseconds:0} ms; stored {handler.Completed}, abandoned {handler.Abandoned}; {started.Elapsed.TotalSeconds:0.0} s");

            // Every case ended: no hang, no malformed answer from us.
            var bad = results.Where(r => r.End.Contains("HUNG", StringComparison.Ordinal) || r.End.Contains("malformed", StringComparison.Ordinal)).ToList();
            Assert.True(bad.Count == 0, string.Join("\n", bad.Take(20).Select(b => $"{b.Id} -> {b.End}")));
            // Nothing escaped as an unexpected exception inside the acceptor.
            var failed = summaries.Where(s => s.Outcome is AssociationOutcome.Failed or AssociationOutcome.Cancelled).ToList();
            Assert.True(failed.Count == 0, string.Join("\n", failed.Take(20).Select(s => $"{s.Outcome}: {s.Problem}")));
            // Abort summaries name what was wrong.
            Assert.All(summaries.Where(s => s.Outcome == AssociationOutcome.AbortedByUs), s => Assert.False(string.IsNullOrEmpty(s.Problem)));
            // Every opened sink was completed or abandoned, and no partial file is left.
            Assert.Equal(0, server.Server.ActiveAssociations);
            Assert.Equal(handler.Opened, handler.Completed + handler.Abandoned);
            Assert.Empty(handler.PartialFiles());
            Assert.Equal(handler.Completed, handler.FinalFiles().Length);

            // 3. Still serving DCMTK.
            var echo = await PeerTool.RunAsync("echoscu", ["-aec", "QCPIPE", "127.0.0.1", server.PortText]);
            Assert.True(echo.ExitCode == 0, echo.ToString());
            var store = await PeerTool.RunAsync("storescu", ["-xe", "-aec", "QCPIPE", "127.0.0.1", server.PortText, files[0]]);
            Assert.True(store.ExitCode == 0, store.ToString());
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), $"fuzz run took {started.Elapsed}");
        }
        finally
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            TaskScheduler.UnobservedTaskException -= onUnobserved;
        }
        Assert.True(unobserved.IsEmpty, string.Join("\n", unobserved));
    }
}
