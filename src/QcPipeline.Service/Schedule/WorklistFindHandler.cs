using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Network;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Schedule;

/// <summary>Modality Worklist Information Model – FIND SCP (PS3.4 Annex K) over the scheduled phantom scans that are not
/// done or cancelled. Each scan is one worklist item (one requested procedure with one scheduled procedure step); the
/// answer carries the requested keys only (§C.4.1.1.3.1), with our values or empty.</summary>
public sealed class WorklistFindHandler(IDbContextFactory<ResultsDbContext> factory, IOptions<ScheduleOptions> options, ILogger<WorklistFindHandler> logger) : IFindHandler
{
    public IReadOnlyCollection<string> SopClasses { get; } = [DicomUids.ModalityWorklistInformationModelFind];

    public async IAsyncEnumerable<FindMatch> FindAsync(FindRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = WorklistQuery.Parse(request.Identifier);
        var o = options.Value;
        var db = await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        int matches = 0;
        await using (db.ConfigureAwait(false))
        {
            var scans = db.ScheduledScans.AsNoTracking()
                .Where(s => s.Status == ScheduledScanRecord.Scheduled || s.Status == ScheduledScanRecord.InProgress);
            if (query.DateFrom is { } from) scans = scans.Where(s => s.ScheduledDate >= from);
            if (query.DateTo is { } to) scans = scans.Where(s => s.ScheduledDate <= to);
            if (query.ExactAccession is { } acc) scans = scans.Where(s => s.AccessionNumber == acc);
            var rows = scans.Join(db.Devices, s => s.DeviceId, d => d.Id, (s, d) => new { Scan = s, d.StationName })
                .OrderBy(x => x.Scan.ScheduledDate).ThenBy(x => x.Scan.ScheduledTime).ThenBy(x => x.Scan.Id)
                .AsAsyncEnumerable().WithCancellation(cancellationToken).ConfigureAwait(false);
            await foreach (var row in rows)
            {
                var item = Item(row.Scan, row.StationName, o);
                var step = item.GetSequence(DicomTags.ScheduledProcedureStepSequence)!.Items[0];
                if (!query.Matches(item, step, row.Scan.ScheduledDate, row.Scan.ScheduledTime)) continue;
                matches++;
                yield return new FindMatch(Project(request.Identifier, item), query.OptionalKeysUnsupported);
            }
        }
        // Debug: scanners poll their worklist every few minutes.
        logger.LogDebug("Worklist query from {CallingAe}: {Matches} item(s)", request.Association.CallingAeTitle, matches);
    }

    /// <summary>Every attribute of the item we can give (PS3.4 Table K.6-1), text in UTF-8.</summary>
    internal static DicomDataset Item(ScheduledScanRecord scan, string? stationName, ScheduleOptions o)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 192");
        // Attached before its values are set, so the item's text is encoded in the data set's UTF-8.
        var step = new DicomDataset();
        ds.AddOrUpdate(new DicomSequence(DicomTags.ScheduledProcedureStepSequence, [step]));
        step.AddOrUpdate(DicomTags.Modality, DicomVR.CS, scan.Modality);
        step.AddOrUpdate(DicomTags.ScheduledStationAETitle, DicomVR.AE, scan.StationAeTitle);
        step.AddOrUpdate(DicomTags.ScheduledProcedureStepStartDate, DicomVR.DA, scan.ScheduledDate.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture));
        step.AddOrUpdate(DicomTags.ScheduledProcedureStepStartTime, DicomVR.TM, scan.ScheduledTime.ToString("HHmmss", System.Globalization.CultureInfo.InvariantCulture));
        step.AddOrUpdate(DicomTags.ScheduledPerformingPhysicianName, DicomVR.PN, "");
        step.AddOrUpdate(DicomTags.ScheduledProcedureStepDescription, DicomVR.LO, TestPlans.Description(scan.Test));
        step.AddOrUpdate(DicomTags.ScheduledStationName, DicomVR.SH, stationName is { Length: > 0 and <= 16 } sn ? sn : "");
        step.AddOrUpdate(DicomTags.ScheduledProcedureStepLocation, DicomVR.SH, "");
        step.AddOrUpdate(DicomTags.ScheduledProcedureStepID, DicomVR.SH, "SP" + scan.AccessionNumber[2..]);
        step.AddOrUpdate(DicomTags.ScheduledProcedureStepStatus, DicomVR.CS, scan.Status == ScheduledScanRecord.InProgress ? "STARTED" : "SCHEDULED");
        ds.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, scan.AccessionNumber);
        ds.AddOrUpdate(DicomTags.ReferringPhysicianName, DicomVR.PN, "");
        ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, o.PatientName);
        ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, o.PatientIdPrefix + scan.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ds.AddOrUpdate(DicomTags.PatientBirthDate, DicomVR.DA, "");
        ds.AddOrUpdate(DicomTags.PatientSex, DicomVR.CS, "O");
        ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, scan.StudyInstanceUid);
        ds.AddOrUpdate(DicomTags.RequestingPhysician, DicomVR.PN, "");
        ds.AddOrUpdate(DicomTags.RequestedProcedureDescription, DicomVR.LO, TestPlans.Description(scan.Test));
        ds.AddOrUpdate(DicomTags.RequestedProcedureID, DicomVR.SH, scan.RequestedProcedureId);
        ds.AddOrUpdate(DicomTags.RequestedProcedurePriority, DicomVR.CS, "ROUTINE");
        ds.AddOrUpdate(new DicomSequence(DicomTags.ReferencedStudySequence));
        return ds;
    }

    /// <summary>The requested keys with the item's values (empty where it has none); an empty sequence key returns the
    /// whole sequence (§C.2.2.2.6). Specific Character Set ISO_IR 192 only when some value is not ASCII.</summary>
    internal static DicomDataset Project(DicomDataset request, DicomDataset item)
    {
        var result = new DicomDataset();
        bool nonAscii = false;
        ProjectInto(request, item, result, ref nonAscii);
        if (nonAscii) result.AddOrUpdate(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 192");
        return result;
    }

    private static void ProjectInto(DicomDataset request, DicomDataset item, DicomDataset result, ref bool nonAscii)
    {
        foreach (var key in request)
        {
            if (key.Tag == DicomTags.SpecificCharacterSet || key.Tag.IsGroupLength) continue;
            switch (key)
            {
                case DicomSequence rs:
                {
                    var ours = item.GetSequence(rs.Tag);
                    var items = new List<DicomDataset>();
                    foreach (var oi in ours?.Items ?? [])
                    {
                        if (rs.Items.Count == 0)
                        {
                            var copy = oi.Clone();
                            nonAscii |= HasNonAscii(copy);
                            items.Add(copy);
                        }
                        else
                        {
                            var sub = new DicomDataset();
                            ProjectInto(rs.Items[0], oi, sub, ref nonAscii);
                            items.Add(sub);
                        }
                    }
                    result.AddOrUpdate(new DicomSequence(rs.Tag, items));
                    break;
                }
                default:
                    if (item.GetElement(key.Tag) is { } e)
                    {
                        nonAscii |= e.Data.Span.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0;
                        result.AddOrUpdate(new DicomElement(e.Tag, e.VR, e.Data));
                    }
                    else
                    {
                        // A key we have no value for: returned empty, with the VR it was asked with (UN asked in implicit VR: the dictionary's).
                        var vr = key.VR == DicomVR.UN ? DicomDictionary.GetDefaultVR(key.Tag) : key.VR;
                        result.AddOrUpdate(vr == DicomVR.SQ ? new DicomSequence(key.Tag) : new DicomElement(key.Tag, vr == DicomVR.UN ? DicomVR.UN : vr, ReadOnlyMemory<byte>.Empty));
                    }
                    break;
            }
        }
    }

    private static bool HasNonAscii(DicomDataset ds) => ds.Any(i => i switch
    {
        DicomElement e => e.Data.Span.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0,
        DicomSequence s => s.Items.Any(HasNonAscii),
        _ => false,
    });
}
