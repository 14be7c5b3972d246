using System.Net;
using System.Net.Sockets;
using System.Text;
using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>The association cap and the calling-AE / host / user identity policy, seen from DCMTK's echoscu and
/// storescu and from our own requestor.</summary>
public sealed class AssociationPolicyPeerTests(ITestOutputHelper output)
{
    private static readonly PresentationContextRequest[] Echo = [new(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian])];

    private async Task<PeerTool.Result> Echoscu(TestServer server, string callingAe)
    {
        var r = await PeerTool.RunAsync("echoscu", ["-aet", callingAe, "-aec", "QCPIPE", "127.0.0.1", server.PortText]);
        output.WriteLine(r.ToString());
        return r;
    }

    [Fact]
    public async Task Beyond_the_association_cap_the_request_is_rejected_transient_local_limit_exceeded()
    {
        var handler = new FileStoreHandler(Directory.CreateTempSubdirectory("qc-cap-").FullName);
        try
        {
            await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", MaxAssociations = 1 }, handler);
            var holder = await DicomClient.ConnectAsync("127.0.0.1", server.Port, Echo, new DicomClientOptions { CalledAeTitle = "QCPIPE" }, server.Token);
            try
            {
                Assert.Equal(1, server.Server.ActiveAssociations);

                // Our requestor: A-ASSOCIATE-RJ result transient (2), source service-provider presentation (3), reason 2.
                var ex = await Assert.ThrowsAsync<DicomAssociationRejectedException>(() =>
                    DicomClient.ConnectAsync("127.0.0.1", server.Port, Echo, new DicomClientOptions { CalledAeTitle = "QCPIPE" }, server.Token));
                Assert.Equal(RejectResult.Transient, ex.Reject.Result);
                Assert.Equal((byte)2, (byte)ex.Reject.Result);
                Assert.Equal(RejectSource.ServiceProviderPresentation, ex.Reject.Source);
                Assert.Equal((byte)3, (byte)ex.Reject.Source);
                Assert.Equal(2, ex.Reject.Reason);

                // DCMTK reads the same fields.
                var echo = await Echoscu(server, "QCTEST");
                Assert.NotEqual(0, echo.ExitCode);
                Assert.Contains("Result: Rejected Transient, Source: Service Provider (Presentation Related)", echo.Text, StringComparison.OrdinalIgnoreCase);
                Assert.Contains("Reason: Local Limit Exceeded", echo.Text, StringComparison.OrdinalIgnoreCase);
                var store = await PeerTool.RunAsync("storescu", ["-xr", "-aec", "QCPIPE", "127.0.0.1", server.PortText, PeerInputs.PhantomCt(1)]);
                output.WriteLine(store.ToString());
                Assert.NotEqual(0, store.ExitCode);
                Assert.Contains("Local Limit Exceeded", store.Text, StringComparison.OrdinalIgnoreCase);
                Assert.Empty(handler.FinalFiles());

                // The held association still works.
                Assert.True((await holder.EchoAsync(1, server.Token)).IsSuccess);
                await holder.ReleaseAsync(server.Token);
            }
            finally
            {
                await holder.DisposeAsync();
            }

            var summaries = await server.WaitForSummaries(4);
            Assert.Equal(3, summaries.Count(s => s.Outcome == AssociationOutcome.Rejected));
            Assert.Single(summaries, s => s.Outcome == AssociationOutcome.Released && s.EchoCount == 1);

            // With the holder gone, a new association is accepted.
            Assert.Equal(0, (await Echoscu(server, "QCTEST")).ExitCode);
        }
        finally
        {
            Directory.Delete(handler.Directory, recursive: true);
        }
    }

    private static DeviceAllowListPolicy Policy(bool requireUser = false) => new(
        [new AllowedDevice("MODALITY1", [IPAddress.Loopback]), new AllowedDevice("ELSEWHERE", [IPAddress.Parse("127.0.0.2")])],
        [DicomUser.FromPlain("physicist", "correct horse")],
        requireUser);

    [Fact]
    public async Task Allowed_device_on_its_host_is_accepted_and_any_other_calling_ae_is_rejected_reason_3()
    {
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", Policy = Policy() });

        Assert.Equal(0, (await Echoscu(server, "MODALITY1")).ExitCode);

        var other = await Echoscu(server, "INTRUDER");
        Assert.NotEqual(0, other.ExitCode);
        Assert.Contains("Result: Rejected Permanent, Source: Service User", other.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Reason: Calling AE Title Not Recognized", other.Text, StringComparison.OrdinalIgnoreCase);

        var ex = await Assert.ThrowsAsync<DicomAssociationRejectedException>(() =>
            DicomClient.ConnectAsync("127.0.0.1", server.Port, Echo, new DicomClientOptions { CallingAeTitle = "INTRUDER", CalledAeTitle = "QCPIPE" }, server.Token));
        Assert.Equal(RejectResult.Permanent, ex.Reject.Result);
        Assert.Equal(RejectSource.ServiceUser, ex.Reject.Source);
        Assert.Equal(3, ex.Reject.Reason);

        // A known AE title from a host it is not bound to (we connect from 127.0.0.1, it is bound to 127.0.0.2).
        var wrongHost = await Echoscu(server, "ELSEWHERE");
        Assert.NotEqual(0, wrongHost.ExitCode);
        Assert.Contains("Calling AE Title Not Recognized", wrongHost.Text, StringComparison.OrdinalIgnoreCase);

        // ... and accepted from the host it is bound to (a loopback alias as the source address).
        using (var tcp = new TcpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0)) { NoDelay = true })
        {
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(PduWriter.ToArray(new AssociateRequest("ELSEWHERE", "QCPIPE", Echo,
                new UserInformation { MaxPduLength = 16384, ImplementationClassUid = "1.2.3.4" })), server.Token);
            Assert.IsType<AssociateAccept>(await new PduReader().ReadAsync(stream, server.Token));
            await stream.WriteAsync(PduWriter.ToArray(new ReleaseRequest()), server.Token);
            Assert.IsType<ReleaseResponse>(await new PduReader().ReadAsync(stream, server.Token));
        }

        var summaries = await server.WaitForSummaries(5);
        Assert.Equal(3, summaries.Count(s => s.Outcome == AssociationOutcome.Rejected));
        Assert.Equal(2, summaries.Count(s => s.Outcome == AssociationOutcome.Released));
    }

    private static UserIdentityRequest Identity(string user, string passcode, bool positiveResponse = true) =>
        new(2, positiveResponse, Encoding.UTF8.GetBytes(user), Encoding.UTF8.GetBytes(passcode));

    [Fact]
    public async Task User_identity_with_the_right_passcode_is_accepted_with_a_positive_response_and_a_wrong_one_rejected()
    {
        var handler = new MemoryStoreHandler();
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", Policy = Policy(requireUser: true) }, handler);
        var file = PeerInputs.PhantomCt(1);
        var body = PeerInputs.DatasetBytes(file, out var sopClass, out var sop, out var ts);
        PresentationContextRequest[] pcs = [.. Echo, new(3, sopClass, [ts])];
        var good = new DicomClientOptions { CallingAeTitle = "MODALITY1", CalledAeTitle = "QCPIPE", UserIdentity = Identity("physicist", "correct horse") };

        await using (var client = await DicomClient.ConnectAsync("127.0.0.1", server.Port, pcs, good, server.Token))
        {
            // PS3.7 §D.3.3.7.2: the positive response to a username/passcode request has a zero-length server response.
            Assert.NotNull(client.Accept.UserInformation.UserIdentityResponse);
            Assert.Equal(0, client.Accept.UserInformation.UserIdentityResponse!.Value.Length);
            var rsp = await client.StoreAsync(3, sopClass, sop, new MemoryStream(body), cancellationToken: server.Token);
            Assert.Equal(DicomStatus.Success, rsp.Status);
            await client.ReleaseAsync(server.Token);
        }
        var stored = Assert.Single(handler.Stored);
        Assert.Equal("physicist", stored.Request.Association.UserName);

        // Without a positive response requested, none is sent.
        await using (var client = await DicomClient.ConnectAsync("127.0.0.1", server.Port, pcs,
            good with { UserIdentity = Identity("physicist", "correct horse", positiveResponse: false) }, server.Token))
        {
            Assert.Null(client.Accept.UserInformation.UserIdentityResponse);
            await client.ReleaseAsync(server.Token);
        }

        foreach (var (user, pass) in new[] { ("physicist", "wrong horse"), ("physicist", ""), ("nobody", "correct horse") })
        {
            var ex = await Assert.ThrowsAsync<DicomAssociationRejectedException>(() =>
                DicomClient.ConnectAsync("127.0.0.1", server.Port, pcs, good with { UserIdentity = Identity(user, pass) }, server.Token));
            Assert.Equal(RejectResult.Permanent, ex.Reject.Result);
            Assert.Equal(RejectSource.ServiceUser, ex.Reject.Source);
            Assert.Equal(1, ex.Reject.Reason);
        }
        // DCMTK's storescu with user identity negotiation: right passcode stored (positive response expected), wrong rejected.
        var dcmtkGood = await PeerTool.RunAsync("storescu", ["-xr", "-aet", "MODALITY1", "-aec", "QCPIPE", "-usr", "physicist", "-pwd", "correct horse", "-rsp",
            "127.0.0.1", server.PortText, file]);
        output.WriteLine(dcmtkGood.ToString());
        Assert.Equal(0, dcmtkGood.ExitCode);
        Assert.Equal(2, handler.Stored.Count);
        var dcmtkWrong = await PeerTool.RunAsync("storescu", ["-xr", "-aet", "MODALITY1", "-aec", "QCPIPE", "-usr", "physicist", "-pwd", "wrong horse",
            "127.0.0.1", server.PortText, file]);
        output.WriteLine(dcmtkWrong.ToString());
        Assert.NotEqual(0, dcmtkWrong.ExitCode);
        Assert.Contains("Association Rejected", dcmtkWrong.Text, StringComparison.OrdinalIgnoreCase);

        // Identity required: none at all is rejected too (echoscu sends none).
        var anonymous = await Echoscu(server, "MODALITY1");
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.Contains("Association Rejected", anonymous.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, handler.Stored.Count);
    }
}
