using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary><see cref="DicomServer"/> as a Verification SCP, with DCMTK's echoscu as the real SCU.</summary>
public class EchoScpTests(ITestOutputHelper output)
{
    private sealed class Running : IAsyncDisposable
    {
        public readonly TcpListener Listener = new(IPAddress.Loopback, 0);
        public readonly CancellationTokenSource Cts = new(TimeSpan.FromSeconds(60));
        public readonly List<AssociationSummary> Summaries = [];
        public readonly Task Loop;
        public int Port => ((IPEndPoint)Listener.LocalEndpoint).Port;

        public Running(DicomServerOptions? options = null)
        {
            Listener.Start();
            var server = new DicomServer(options ?? new DicomServerOptions { AeTitle = "QCPIPE", IdleTimeout = TimeSpan.FromSeconds(10) });
            Loop = server.RunAsync(Listener, s => { lock (Summaries) Summaries.Add(s); }, Cts.Token);
        }

        public async Task<AssociationSummary> NextSummary(int count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline)
            {
                lock (Summaries) if (Summaries.Count >= count) return Summaries[count - 1];
                await Task.Delay(20);
            }
            throw new TimeoutException("no association summary");
        }

        public async ValueTask DisposeAsync()
        {
            await Cts.CancelAsync();
            Listener.Stop();
            await Loop;
            Cts.Dispose();
        }
    }

    private async Task<(int ExitCode, string Text)> Echoscu(params string[] args)
    {
        var psi = new ProcessStartInfo("echoscu")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["TCP_NODELAY"] = "1";
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var proc = Process.Start(psi) ?? throw new InvalidOperationException("echoscu (dcmtk) did not start");
        var stdout = proc.StandardOutput.ReadToEndAsync(cts.Token);
        var stderr = proc.StandardError.ReadToEndAsync(cts.Token);
        await proc.WaitForExitAsync(cts.Token);
        string text = await stdout + await stderr;
        output.WriteLine($"echoscu {string.Join(' ', args)} -> exit {proc.ExitCode}\n{text}");
        return (proc.ExitCode, text);
    }

    private static void AssertQuiet(string text)
    {
        Assert.DoesNotContain("E:", text);
        Assert.DoesNotContain("F:", text);
        Assert.DoesNotContain("W:", text);
    }

    [Fact]
    public async Task Echoscu_implicit_le_echo_succeeds_and_releases()
    {
        await using var srv = new Running();
        var (code, text) = await Echoscu("-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", srv.Port.ToString());
        Assert.Equal(0, code);
        AssertQuiet(text);
        var s = await srv.NextSummary(1);
        Assert.Equal(AssociationOutcome.Released, s.Outcome);
        Assert.Equal(1, s.EchoCount);
        Assert.Equal("QCTEST", s.CallingAeTitle);
    }

    [Fact]
    public async Task Echoscu_explicit_le_is_preferred_and_repeated_echoes_succeed()
    {
        await using var srv = new Running();
        var (code, text) = await Echoscu("-d", "-pts", "3", "--repeat", "3", "-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", srv.Port.ToString());
        Assert.Equal(0, code);
        AssertQuiet(text);
        Assert.Contains("Accepted Transfer Syntax: =LittleEndianExplicit", text); // -pts 3: implicit, explicit LE, explicit BE proposed
        var s = await srv.NextSummary(1);
        Assert.Equal(AssociationOutcome.Released, s.Outcome);
        Assert.Equal(3, s.EchoCount);
    }

    [Fact]
    public async Task Wrong_called_ae_title_is_rejected()
    {
        await using var srv = new Running();
        var (code, text) = await Echoscu("-aet", "QCTEST", "-aec", "WRONG", "127.0.0.1", srv.Port.ToString());
        Assert.NotEqual(0, code);
        Assert.Contains("Called AE Title Not Recognized", text, StringComparison.OrdinalIgnoreCase);
        var s = await srv.NextSummary(1);
        Assert.Equal(AssociationOutcome.Rejected, s.Outcome);
    }

    [Fact]
    public async Task Garbage_gets_an_abort_and_the_server_keeps_accepting()
    {
        await using var srv = new Running();
        using (var client = new TcpClient { NoDelay = true })
        {
            await client.ConnectAsync(IPAddress.Loopback, srv.Port);
            var stream = client.GetStream();
            await stream.WriteAsync(new byte[] { 0x42, 0x00, 0x00, 0x00, 0x00, 0x04, 0xDE, 0xAD, 0xBE, 0xEF });
            var pdu = await new PduReader().ReadAsync(stream, srv.Cts.Token);
            var abort = Assert.IsType<Abort>(pdu);
            Assert.Equal(AbortSource.ServiceProvider, abort.Source);
            Assert.Equal(AbortReason.UnrecognizedPdu, abort.Reason);
            Assert.Equal(0, await stream.ReadAsync(new byte[1], srv.Cts.Token)); // closed by the server
        }
        var first = await srv.NextSummary(1);
        Assert.Equal(AssociationOutcome.AbortedByUs, first.Outcome);

        var (code, text) = await Echoscu("-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", srv.Port.ToString());
        Assert.Equal(0, code);
        AssertQuiet(text);
    }

    [Fact]
    public async Task Unsupported_contexts_are_refused_with_the_right_result()
    {
        await using var srv = new Running();
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, srv.Port);
        var stream = client.GetStream();
        var rq = new AssociateRequest("QCTEST", "QCPIPE",
            [
                new PresentationContextRequest(1, "1.2.840.10008.5.1.4.1.1.2", ["1.2.840.10008.1.2"]),
                new PresentationContextRequest(3, DicomServer.VerificationSopClass, ["1.2.3.4.5"]),
                new PresentationContextRequest(5, DicomServer.VerificationSopClass, ["1.2.840.10008.1.2.1"]),
            ],
            new UserInformation { MaxPduLength = 16384, ImplementationClassUid = "1.2.3" });
        await stream.WriteAsync(PduWriter.ToArray(rq));
        var ac = Assert.IsType<AssociateAccept>(await new PduReader().ReadAsync(stream, srv.Cts.Token));
        Assert.Equal(PresentationContextResult.AbstractSyntaxNotSupported, ac.PresentationContexts[0].Result);
        Assert.Equal(PresentationContextResult.TransferSyntaxesNotSupported, ac.PresentationContexts[1].Result);
        Assert.Equal(PresentationContextResult.Acceptance, ac.PresentationContexts[2].Result);
        Assert.Equal("1.2.840.10008.1.2.1", ac.PresentationContexts[2].TransferSyntax);
        Assert.Equal(QcPipeline.Dicom.IO.DicomImplementation.ClassUid, ac.UserInformation.ImplementationClassUid);

        await stream.WriteAsync(PduWriter.ToArray(new ReleaseRequest()));
        Assert.IsType<ReleaseResponse>(await new PduReader().ReadAsync(stream, srv.Cts.Token));
    }

    [Fact]
    public async Task Connection_without_association_request_ends_when_ARTIM_expires()
    {
        await using var srv = new Running(new DicomServerOptions { AeTitle = "QCPIPE", ArtimTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, srv.Port);
        var pdu = await new PduReader().ReadAsync(client.GetStream(), srv.Cts.Token);
        Assert.True(pdu is null or Abort);
        Assert.Equal(AssociationOutcome.ArtimTimeout, (await srv.NextSummary(1)).Outcome);
    }

    [Fact]
    public async Task Idle_association_is_aborted()
    {
        await using var srv = new Running(new DicomServerOptions { AeTitle = "QCPIPE", IdleTimeout = TimeSpan.FromMilliseconds(300) });
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, srv.Port);
        var stream = client.GetStream();
        var rq = new AssociateRequest("QCTEST", "QCPIPE",
            [new PresentationContextRequest(1, DicomServer.VerificationSopClass, ["1.2.840.10008.1.2"])],
            new UserInformation { MaxPduLength = 16384, ImplementationClassUid = "1.2.3" });
        await stream.WriteAsync(PduWriter.ToArray(rq));
        Assert.IsType<AssociateAccept>(await new PduReader().ReadAsync(stream, srv.Cts.Token));
        var pdu = await new PduReader().ReadAsync(stream, srv.Cts.Token);
        var abort = Assert.IsType<Abort>(pdu);
        Assert.Equal(AbortSource.ServiceProvider, abort.Source);
        Assert.Equal(AssociationOutcome.IdleTimeout, (await srv.NextSummary(1)).Outcome);
    }
}
