using System.Runtime.CompilerServices;
using QcPipeline.Dicom.Network;
using Xunit.Abstractions;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A find handler for the toolkit tests: yields <see cref="Count"/> worklist-like matches (each echoing the
/// request's ScheduledStationAETitle), optionally slowly, with FF01, or fails as told.</summary>
internal sealed class ListFindHandler : IFindHandler
{
    public int Count { get; init; } = 3;
    public TimeSpan Delay { get; init; } = TimeSpan.Zero;
    public bool OptionalKeysUnsupported { get; init; }
    public Exception? Failure { get; init; }
    public FindRequest? LastRequest { get; private set; }
    public bool SawCancellation { get; private set; }

    public IReadOnlyCollection<string> SopClasses { get; } = [DicomUids.ModalityWorklistInformationModelFind];

    public async IAsyncEnumerable<FindMatch> FindAsync(FindRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        LastRequest = request;
        if (Failure is not null) throw Failure;
        for (int i = 0; i < Count; i++)
        {
            if (Delay > TimeSpan.Zero)
            {
                try { await Task.Delay(Delay, cancellationToken); }
                catch (OperationCanceledException) { SawCancellation = true; throw; }
            }
            var ds = new DicomDataset();
            ds.AddOrUpdate(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 192");
            ds.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, $"ACC{i:D4}");
            ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, "QC^PHANTOM");
            var sps = new DicomDataset();
            // Attached first, so the item's text is encoded in the parent's character set (ISO_IR 192).
            ds.AddOrUpdate(new DicomSequence(DicomTags.ScheduledProcedureStepSequence, [sps]));
            sps.AddOrUpdate(DicomTags.ScheduledStationAETitle, DicomVR.AE, request.Identifier.GetSequence(DicomTags.ScheduledProcedureStepSequence)?.Items.FirstOrDefault()?.GetString(DicomTags.ScheduledStationAETitle) ?? "ANY");
            sps.AddOrUpdate(DicomTags.ScheduledProcedureStepDescription, DicomVR.LO, "水模 CT water");
            yield return new FindMatch(ds, OptionalKeysUnsupported);
        }
    }
}

/// <summary>C-FIND SCP of the toolkit (PS3.7 §9.1.2, PS3.4 Annex K): pending responses with identifiers, the final status,
/// C-CANCEL, failures, limits; and DCMTK's findscu as the peer.</summary>
public class FindScpTests(ITestOutputHelper output)
{
    private static readonly PresentationContextRequest Mwl = new(1, DicomUids.ModalityWorklistInformationModelFind,
        [DicomUids.ExplicitVRLittleEndian, DicomUids.ImplicitVRLittleEndian]);

    private static DicomDataset Query(string station = "CT01")
    {
        var q = new DicomDataset();
        q.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, "");
        q.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, "");
        var sps = new DicomDataset();
        sps.AddOrUpdate(DicomTags.ScheduledStationAETitle, DicomVR.AE, station);
        sps.AddOrUpdate(DicomTags.ScheduledProcedureStepDescription, DicomVR.LO, "");
        q.AddOrUpdate(new DicomSequence(DicomTags.ScheduledProcedureStepSequence, [sps]));
        return q;
    }

    private static Task<DicomClient> Connect(TestServer server, params PresentationContextRequest[] contexts) =>
        DicomClient.ConnectAsync("127.0.0.1", server.Port, contexts.Length == 0 ? [Mwl] : contexts, new DicomClientOptions { CalledAeTitle = "QCPIPE", DimseTimeout = TimeSpan.FromSeconds(20) });

    [Fact]
    public async Task Each_match_is_a_pending_response_with_its_identifier_then_success()
    {
        var handler = new ListFindHandler { Count = 3 };
        await using var server = new TestServer(findHandler: handler);
        await using (var client = await Connect(server))
        {
            Assert.Equal(PresentationContextResult.Acceptance, client.Accept.PresentationContexts[0].Result);
            Assert.Equal(DicomUids.ExplicitVRLittleEndian, client.Accept.PresentationContexts[0].TransferSyntax);
            var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, Query("CT01"));
            Assert.Equal(DicomStatus.Success, r.Final.Status);
            Assert.Equal(3, r.Matches.Count);
            Assert.All(r.PendingStatuses, s => Assert.Equal(DicomStatus.Pending, s));
            Assert.Equal(["ACC0000", "ACC0001", "ACC0002"], r.Matches.Select(m => m.GetString(DicomTags.AccessionNumber)));
            var sps = r.Matches[0].GetSequence(DicomTags.ScheduledProcedureStepSequence)!.Items[0];
            Assert.Equal("CT01", sps.GetString(DicomTags.ScheduledStationAETitle));
            Assert.Equal("水模 CT water", sps.GetString(DicomTags.ScheduledProcedureStepDescription));
            // The handler saw the query keys, sequence and all.
            Assert.Equal("CT01", handler.LastRequest!.Identifier.GetSequence(DicomTags.ScheduledProcedureStepSequence)!.Items[0].GetString(DicomTags.ScheduledStationAETitle));
            // The association goes on: a second query on it.
            var again = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, Query());
            Assert.Equal(3, again.Matches.Count);
            await client.ReleaseAsync();
        }
        var summary = (await server.WaitForSummaries(1))[0];
        Assert.Equal(AssociationOutcome.Released, summary.Outcome);
        Assert.Equal(2, summary.FindCount);
    }

    [Fact]
    public async Task Unsupported_optional_keys_give_FF01()
    {
        await using var server = new TestServer(findHandler: new ListFindHandler { Count = 2, OptionalKeysUnsupported = true });
        await using var client = await Connect(server);
        var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, Query());
        Assert.Equal([DicomStatus.PendingOptionalKeysUnsupported, DicomStatus.PendingOptionalKeysUnsupported], r.PendingStatuses);
        Assert.Equal(DicomStatus.Success, r.Final.Status);
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task C_CANCEL_stops_the_matches_with_FE00_and_the_association_goes_on()
    {
        var handler = new ListFindHandler { Count = 10_000, Delay = TimeSpan.FromMilliseconds(20) };
        await using var server = new TestServer(findHandler: handler);
        await using var client = await Connect(server);
        var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, Query(), cancelAfter: 2);
        Assert.Equal(DicomStatus.Cancel, r.Final.Status);
        Assert.InRange(r.Matches.Count, 2, 20);
        Assert.True(handler.SawCancellation);
        var echo = await DicomClient.ConnectAsync("127.0.0.1", server.Port, [new PresentationContextRequest(1, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian])], new DicomClientOptions { CalledAeTitle = "QCPIPE" });
        await echo.ReleaseAsync();
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task A_handler_failure_is_the_final_status_with_the_offending_element()
    {
        var handler = new ListFindHandler { Failure = new FindFailedException(DicomStatus.IdentifierDoesNotMatchSopClass, "Modality is not a CS value", DicomTags.Modality) };
        await using var server = new TestServer(findHandler: handler);
        await using var client = await Connect(server);
        var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, Query());
        Assert.Empty(r.Matches);
        Assert.Equal(DicomStatus.IdentifierDoesNotMatchSopClass, r.Final.Status);
        Assert.Equal("Modality is not a CS value", r.Final.ErrorComment);
        Assert.Equal([DicomTags.Modality], r.Final.Command.GetTags(DicomTags.OffendingElement));
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task An_unexpected_handler_exception_is_C000_without_its_message()
    {
        await using var server = new TestServer(findHandler: new ListFindHandler { Failure = new InvalidOperationException("secret PatientID 123") });
        await using var client = await Connect(server);
        var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, Query());
        Assert.Equal(DicomStatus.UnableToProcess, r.Final.Status);
        Assert.DoesNotContain("123", r.Final.ErrorComment ?? "", StringComparison.Ordinal);
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task Identifier_over_the_limit_is_A700_and_the_next_query_works()
    {
        var handler = new ListFindHandler { Count = 1 };
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", MaxFindIdentifierLength = 200 }, findHandler: handler);
        await using var client = await Connect(server);
        var big = Query();
        big.AddOrUpdate(DicomTags.StudyDescription, DicomVR.LO, new string('x', 60));
        big.AddOrUpdate(DicomTags.RequestedProcedureDescription, DicomVR.LO, new string('y', 60));
        big.AddOrUpdate(DicomTags.ReasonForTheRequestedProcedure, DicomVR.LO, new string('z', 60));
        var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, big);
        Assert.Equal(DicomStatus.OutOfResources, r.Final.Status);
        Assert.Empty(r.Matches);
        Assert.Contains("200 bytes", r.Final.ErrorComment, StringComparison.Ordinal);
        var ok = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, Query());
        Assert.Equal(DicomStatus.Success, ok.Final.Status);
        Assert.Single(ok.Matches);
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task More_matches_than_the_limit_end_with_A700_after_the_limit()
    {
        await using var server = new TestServer(new DicomServerOptions { AeTitle = "QCPIPE", MaxFindMatches = 5 }, findHandler: new ListFindHandler { Count = 50 });
        await using var client = await Connect(server);
        var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, Query());
        Assert.Equal(5, r.Matches.Count);
        Assert.Equal(DicomStatus.OutOfResources, r.Final.Status);
        Assert.Contains("narrow the query", r.Final.ErrorComment, StringComparison.Ordinal);
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task Garbage_identifier_is_C000()
    {
        await using var server = new TestServer(findHandler: new ListFindHandler());
        await using var client = await Connect(server);
        // An element whose length runs past the end of the data set: (0010,0010) PN, length 200, 4 bytes of value.
        var bad = new DicomDataset();
        bad.AddOrUpdate(new DicomElement(DicomTags.PatientName, DicomVR.UN, new byte[] { 1, 2, 3, 4 }));
        var raw = DimseCommand.SerializeDataset(bad, DicomUids.ExplicitVRLittleEndian);
        raw[8] = 200; // UN has a 4-byte length at offset 8
        var r = await client.FindAsync(1, DicomUids.ModalityWorklistInformationModelFind, bad, rawIdentifier: raw);
        Assert.Equal(DicomStatus.UnableToProcess, r.Final.Status);
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task Without_a_find_handler_the_worklist_class_is_not_negotiated()
    {
        await using var server = new TestServer();
        await using var client = await Connect(server, Mwl, new PresentationContextRequest(3, DicomUids.Verification, [DicomUids.ImplicitVRLittleEndian]));
        Assert.Equal(PresentationContextResult.AbstractSyntaxNotSupported, client.Accept.PresentationContexts.Single(p => p.Id == 1).Result);
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task Only_uncompressed_little_endian_syntaxes_for_the_identifier()
    {
        await using var server = new TestServer(findHandler: new ListFindHandler());
        await using var client = await Connect(server,
            new PresentationContextRequest(1, DicomUids.ModalityWorklistInformationModelFind, [DicomUids.JPEGBaseline8Bit, DicomUids.DeflatedExplicitVRLittleEndian]),
            new PresentationContextRequest(3, DicomUids.ModalityWorklistInformationModelFind, [DicomUids.ImplicitVRLittleEndian]));
        Assert.Equal(PresentationContextResult.TransferSyntaxesNotSupported, client.Accept.PresentationContexts.Single(p => p.Id == 1).Result);
        var implicitPc = client.Accept.PresentationContexts.Single(p => p.Id == 3);
        Assert.Equal(DicomUids.ImplicitVRLittleEndian, implicitPc.TransferSyntax);
        var r = await client.FindAsync(3, DicomUids.ModalityWorklistInformationModelFind, Query());
        Assert.Equal(3, r.Matches.Count);
        Assert.Equal("水模 CT water", r.Matches[2].GetSequence(DicomTags.ScheduledProcedureStepSequence)!.Items[0].GetString(DicomTags.ScheduledProcedureStepDescription));
        await client.ReleaseAsync();
    }

    [Fact]
    public async Task Findscu_sees_the_matches_in_utf8()
    {
        if (!PeerTool.Exists("findscu")) { output.WriteLine("findscu not installed"); return; }
        await using var server = new TestServer(findHandler: new ListFindHandler { Count = 2 });
        var dir = Directory.CreateTempSubdirectory("findscu-");
        try
        {
            var r = await PeerTool.RunAsync("findscu", ["-W", "-aec", "QCPIPE", "-k", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=CT07",
                "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription", "-k", "AccessionNumber", "-k", "PatientName",
                "-X", "-od", dir.FullName, "127.0.0.1", server.PortText], TimeSpan.FromSeconds(30));
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            var files = Directory.GetFiles(dir.FullName).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(2, files.Length);
            var first = DicomFile.Open(files[0]).Dataset;
            Assert.Equal("ACC0000", first.GetString(DicomTags.AccessionNumber));
            var sps = first.GetSequence(DicomTags.ScheduledProcedureStepSequence)!.Items[0];
            Assert.Equal("CT07", sps.GetString(DicomTags.ScheduledStationAETitle));
            Assert.Equal("水模 CT water", sps.GetString(DicomTags.ScheduledProcedureStepDescription));
            var summary = (await server.WaitForSummaries(1))[0];
            Assert.Equal(AssociationOutcome.Released, summary.Outcome);
            Assert.Equal(1, summary.FindCount);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
