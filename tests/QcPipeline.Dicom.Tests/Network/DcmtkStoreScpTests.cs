using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>DCMTK's storescp as a child process on a free port, writing what it receives bit-preserving (+B) into
/// its own folder; killed on dispose.</summary>
internal sealed class DcmtkStoreScp : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    public int Port { get; }
    public string Directory { get; }

    private DcmtkStoreScp(Process process, int port, string directory)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        Port = port;
        Directory = directory;
    }

    public static Task<DcmtkStoreScp> StartAsync(string directory, params string[] options) => StartAsync(directory, options, []);

    /// <summary><paramref name="echoOptions"/> go to the echoscu that checks readiness (TLS options for a TLS storescp).</summary>
    public static async Task<DcmtkStoreScp> StartAsync(string directory, string[] options, string[] echoOptions)
    {
        System.IO.Directory.CreateDirectory(directory);
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        var psi = new ProcessStartInfo("storescp") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var o in options) psi.ArgumentList.Add(o);
        if (!options.Any(o => o.StartsWith("+x", StringComparison.Ordinal))) psi.ArgumentList.Add("+xa"); // accept every syntax it supports
        foreach (var a in new[] { "-v", "-aet", "STORESCP", "+B", "-od", directory, port.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
        psi.Environment["TCP_NODELAY"] = "1";
        var scp = new DcmtkStoreScp(Process.Start(psi) ?? throw new InvalidOperationException("storescp did not start"), port, directory);
        scp._process.StandardInput.Close();
        // Ready when it answers a C-ECHO.
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (scp._process.HasExited) throw new InvalidOperationException("storescp exited: " + await scp._stderr);
            var echo = await PeerTool.RunAsync("echoscu", [.. echoOptions, "-to", "2", "-aec", "STORESCP", "127.0.0.1", port.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
            if (echo.ExitCode == 0) return scp;
            if (sw.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException("storescp did not answer C-ECHO\n" + echo);
            await Task.Delay(50);
        }
    }

    public string[] Files() => System.IO.Directory.GetFiles(Directory);

    /// <summary>storescp's log (verbose); complete only after dispose.</summary>
    public Task<string> Log => _stderr;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (InvalidOperationException) { /* gone */ }
        _process.Dispose();
    }
}

/// <summary><see cref="DicomClient"/> (our requestor) against DCMTK's storescp: every transfer syntax, a small peer
/// maximum PDU, and the bytes storescp writes (bit-preserving) are exactly the data set we sent.</summary>
public sealed class DcmtkStoreScpTests(TransferSyntaxInputs inputs, ITestOutputHelper output) : IClassFixture<TransferSyntaxInputs>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qc-dcmtk-scp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("le", "131072")]
    [InlineData("implicit", "16384")]
    [InlineData("big", "16384")]
    [InlineData("deflated", "16384")]
    [InlineData("rle", "4096")]
    [InlineData("jpeg-sv1", "16384")]
    [InlineData("jpeg-ls", "4096")]
    [InlineData("j2k", "16384")]
    public async Task Our_client_stores_into_storescp_and_it_writes_exactly_the_data_set_we_sent(string input, string peerMaxPdu)
    {
        await using var scp = await DcmtkStoreScp.StartAsync(Path.Combine(_dir, "scp"), "-pdu", peerMaxPdu);
        var source = inputs[input];
        var body = PeerInputs.DatasetBytes(source, out var sopClass, out var sop, out var ts);
        PresentationContextRequest[] pcs =
        [
            new(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian]),
            new(3, sopClass, [ts]),
        ];
        var sw = Stopwatch.StartNew();
        try
        {
        await using (var client = await DicomClient.ConnectAsync("127.0.0.1", scp.Port, pcs, new DicomClientOptions { CallingAeTitle = "QCSCU", CalledAeTitle = "STORESCP" }))
        {
            Assert.Equal(uint.Parse(peerMaxPdu, CultureInfo.InvariantCulture), client.PeerMaxPduLength);
            Assert.True((await client.EchoAsync(1)).IsSuccess);
            var ctx = client.FindContext(pcs, sopClass, ts);
            Assert.NotNull(ctx);
            var rsp = await client.StoreAsync(ctx.Id, sopClass, sop, new MemoryStream(body));
            Assert.True(rsp.IsSuccess, $"status 0x{rsp.Status:X4} {rsp.ErrorComment}");
            Assert.Equal(sop, rsp.Command.GetString(DicomTags.AffectedSOPInstanceUID));
            await client.ReleaseAsync();
        }
        }
        catch
        {
            await scp.DisposeAsync();
            output.WriteLine(await scp.Log);
            throw;
        }
        output.WriteLine($"{input}: {body.Length} bytes in {sw.ElapsedMilliseconds} ms with peer max PDU {peerMaxPdu}");

        var stored = Assert.Single(scp.Files());
        var storedBody = PeerInputs.DatasetBytes(stored, out _, out var storedSop, out var storedTs);
        Assert.Equal(sop, storedSop);
        Assert.Equal(ts, storedTs);
        // An odd-length data set (the deflated one) goes out with one 00H pad byte: fragments must be even.
        byte[] expected = body.Length % 2 == 1 ? [.. body, 0] : body;
        Assert.True(expected.AsSpan().SequenceEqual(storedBody), $"storescp wrote {storedBody.Length} data set bytes, we sent {body.Length}");
        await DcmdumpCompare.AssertSameDataset(source, stored);
    }

    [Fact]
    public async Task Storescp_refusing_a_syntax_leaves_no_context_and_the_client_says_so()
    {
        // +xi: storescp accepts implicit VR little endian only.
        await using var scp = await DcmtkStoreScp.StartAsync(Path.Combine(_dir, "scp"), "+xi");
        var body = PeerInputs.DatasetBytes(inputs["rle"], out var sopClass, out _, out var ts);
        PresentationContextRequest[] pcs = [new(1, sopClass, [ts]), new(3, sopClass, [DicomUids.ImplicitVRLittleEndian])];
        await using var client = await DicomClient.ConnectAsync("127.0.0.1", scp.Port, pcs, new DicomClientOptions { CalledAeTitle = "STORESCP" });
        Assert.Equal(PresentationContextResult.TransferSyntaxesNotSupported, client.Accept.PresentationContexts.Single(p => p.Id == 1).Result);
        Assert.Null(client.FindContext(pcs, sopClass, ts));
        Assert.NotNull(client.FindContext(pcs, sopClass, DicomUids.ImplicitVRLittleEndian));
        Assert.True(body.Length > 0);
        await client.ReleaseAsync();
    }
}
