using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>DCMTK's echoscu as the real peer: its A-ASSOCIATE-RQ is read with <see cref="PduReader"/> and
/// answered with an A-ASSOCIATE-RJ written by <see cref="PduWriter"/>.</summary>
public class EchoscuPeerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Echoscu_request_is_decoded_and_our_reject_is_understood()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var psi = new ProcessStartInfo("echoscu")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "-aet", "QCTEST", "-aec", "QCPIPE", "127.0.0.1", port.ToString() }) psi.ArgumentList.Add(a);
            psi.Environment["TCP_NODELAY"] = "1";
            using var proc = Process.Start(psi) ?? throw new InvalidOperationException("echoscu (dcmtk) did not start");
            var stdout = proc.StandardOutput.ReadToEndAsync(cts.Token);
            var stderr = proc.StandardError.ReadToEndAsync(cts.Token);

            AssociateRequest rq;
            using (var client = await listener.AcceptTcpClientAsync(cts.Token))
            {
                var stream = client.GetStream();
                var pdu = await new PduReader().ReadAsync(stream, cts.Token);
                rq = Assert.IsType<AssociateRequest>(pdu);
                var reply = PduWriter.ToArray(new AssociateReject(RejectResult.Permanent, RejectSource.ServiceUser, AssociateReject.CalledAeTitleNotRecognized));
                await stream.WriteAsync(reply, cts.Token);
                await stream.FlushAsync(cts.Token);
                await proc.WaitForExitAsync(cts.Token);
            }
            string text = await stdout + await stderr;
            output.WriteLine($"echoscu exit {proc.ExitCode}:\n{text}");
            output.WriteLine($"RQ: {string.Join("; ", rq.PresentationContexts.Select(p => $"{p.Id} {p.AbstractSyntax} [{string.Join(",", p.TransferSyntaxes)}]"))} " +
                             $"max {rq.UserInformation.MaxPduLength} icu {rq.UserInformation.ImplementationClassUid} ivn {rq.UserInformation.ImplementationVersionName}");

            Assert.Equal("QCTEST", rq.CallingAeTitle);
            Assert.Equal("QCPIPE", rq.CalledAeTitle);
            Assert.Equal(1, rq.ProtocolVersion);
            Assert.Equal(AssociateRequest.DicomApplicationContext, rq.ApplicationContextName);
            var pc = Assert.Single(rq.PresentationContexts);
            Assert.Equal(1, pc.Id);
            Assert.Equal("1.2.840.10008.1.1", pc.AbstractSyntax);
            Assert.Equal(["1.2.840.10008.1.2"], pc.TransferSyntaxes);     // echoscu's default: implicit VR little endian only
            Assert.Equal(16384u, rq.UserInformation.MaxPduLength);        // dcmtk's default maximum receive PDU
            Assert.StartsWith("1.2.276.0.7230010.3.", rq.UserInformation.ImplementationClassUid); // OFFIS root
            Assert.StartsWith("OFFIS_DCMTK", rq.UserInformation.ImplementationVersionName);

            Assert.NotEqual(0, proc.ExitCode);
            Assert.Contains("Rejected", text, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("Called AE Title Not Recognized", text, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            listener.Stop();
        }
    }
}
