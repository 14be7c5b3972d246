using System.Globalization;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Service.Schedule;

/// <summary>A Modality Worklist C-FIND identifier read as matching keys (PS3.4 Annex K, matching per §C.2.2.2): single
/// value, list of UIDs, wildcard (<c>*</c>, <c>?</c>), range (dates and times, combined when both are given) and universal
/// (empty) matching. Keys we do not match on are returned but their values are ignored; that makes the answer FF01.</summary>
public sealed class WorklistQuery
{
    private enum Kind { Text, PersonName, UidList, Date, Time }

    /// <summary>The keys we match on, by level: top level (patient, requested procedure, imaging service request) and in
    /// the Scheduled Procedure Step Sequence item.</summary>
    private static readonly Dictionary<DicomTag, Kind> TopKeys = new()
    {
        [DicomTags.AccessionNumber] = Kind.Text,
        [DicomTags.PatientName] = Kind.PersonName,
        [DicomTags.PatientID] = Kind.Text,
        [DicomTags.RequestedProcedureID] = Kind.Text,
        [DicomTags.StudyInstanceUID] = Kind.UidList,
    };

    private static readonly Dictionary<DicomTag, Kind> StepKeys = new()
    {
        [DicomTags.ScheduledStationAETitle] = Kind.Text,
        [DicomTags.Modality] = Kind.Text,
        [DicomTags.ScheduledProcedureStepStartDate] = Kind.Date,
        [DicomTags.ScheduledProcedureStepStartTime] = Kind.Time,
        [DicomTags.ScheduledProcedureStepID] = Kind.Text,
        [DicomTags.ScheduledProcedureStepStatus] = Kind.Text,
        [DicomTags.ScheduledStationName] = Kind.Text,
    };

    private readonly List<(DicomTag Tag, Kind Kind, string Value)> _top = [];
    private readonly List<(DicomTag Tag, Kind Kind, string Value)> _step = [];

    /// <summary>Scheduled date range asked for (for the database), if any.</summary>
    public DateOnly? DateFrom { get; private set; }
    public DateOnly? DateTo { get; private set; }
    private (TimeOnly From, TimeOnly To)? _time;

    /// <summary>The accession number when asked for exactly (no wildcard), for the database.</summary>
    public string? ExactAccession { get; private set; }

    /// <summary>A key with a value that we do not match on was given (answer FF01).</summary>
    public bool OptionalKeysUnsupported { get; private set; }

    /// <summary>Reads the identifier; a malformed one throws <see cref="FindFailedException"/> A900 naming the element.</summary>
    public static WorklistQuery Parse(DicomDataset identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        var q = new WorklistQuery();
        foreach (var item in identifier)
        {
            if (item.Tag == DicomTags.SpecificCharacterSet || item.Tag.IsGroupLength) continue;
            if (item.Tag == DicomTags.ScheduledProcedureStepSequence)
            {
                if (item is not DicomSequence sq) throw Mismatch(item.Tag, "Scheduled Procedure Step Sequence is not a sequence");
                if (sq.Items.Count > 1) throw Mismatch(item.Tag, "Scheduled Procedure Step Sequence has more than one item");
                if (sq.Items.Count == 1)
                    foreach (var inner in sq.Items[0]) q.Add(sq.Items[0], inner, StepKeys, q._step);
                continue;
            }
            q.Add(identifier, item, TopKeys, q._top);
        }
        return q;
    }

    private void Add(DicomDataset ds, DicomItem item, Dictionary<DicomTag, Kind> keys, List<(DicomTag, Kind, string)> into)
    {
        if (item.Tag.IsGroupLength || item.Tag == DicomTags.SpecificCharacterSet) return;
        if (item is DicomSequence seq)
        {
            // Sequence matching on other sequences is not supported: their items' values are ignored.
            if (seq.Items.Any(i => i.OfType<DicomElement>().Any(e => e.Length > 0))) OptionalKeysUnsupported = true;
            return;
        }
        if (item is not DicomElement e || e.Data.Span.IndexOfAnyExcept((byte)' ', (byte)0) < 0) return; // universal matching
        if (!keys.TryGetValue(item.Tag, out var kind))
        {
            OptionalKeysUnsupported = true;
            return;
        }
        var expectedVr = DicomDictionary.GetDefaultVR(item.Tag);
        if (e.VR != expectedVr && e.VR != DicomVR.UN) throw Mismatch(item.Tag, $"{DicomDictionary.GetKeyword(item.Tag)} has VR {e.VR.Code()}, not {expectedVr.Code()}");
        if (!ds.TryGetString(item.Tag, out var decoded, out _)) throw Mismatch(item.Tag, "value cannot be decoded in its character set");
        var value = decoded?.Trim();
        if (string.IsNullOrEmpty(value)) return;
        switch (kind)
        {
            case Kind.Date:
                if (!TryRange(value, ParseDate, out var df, out var dt)) throw Mismatch(item.Tag, "not a date or date range (YYYYMMDD[-YYYYMMDD])");
                DateFrom = df;
                DateTo = dt;
                return;
            case Kind.Time:
                if (!TryRange(value, s => ParseTime(s, upper: false), out var tf, out _) || !TryRange(value, s => ParseTime(s, upper: true), out _, out var tt))
                    throw Mismatch(item.Tag, "not a time or time range (HHMMSS[-HHMMSS])");
                _time = (tf ?? TimeOnly.MinValue, tt ?? TimeOnly.MaxValue);
                return;
        }
        if (item.Tag == DicomTags.AccessionNumber && value.IndexOfAny(['*', '?']) < 0) ExactAccession = value;
        into.Add((item.Tag, kind, value));
    }

    private static FindFailedException Mismatch(DicomTag tag, string why) => new(DicomStatus.IdentifierDoesNotMatchSopClass, why, tag);

    /// <summary>True when the item (top level and its single step item) matches every key.</summary>
    public bool Matches(DicomDataset item, DicomDataset step, DateOnly date, TimeOnly time)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(step);
        foreach (var (tag, kind, value) in _top) if (!MatchValue(kind, value, item.GetString(tag))) return false;
        foreach (var (tag, kind, value) in _step) if (!MatchValue(kind, value, step.GetString(tag))) return false;
        if (DateFrom is not null || DateTo is not null)
        {
            if (_time is { } t)
            {
                // PS3.4 §C.2.2.2.5.1: a date range and a time range together are one date-time range.
                var at = date.ToDateTime(time);
                if (DateFrom is { } f && at < f.ToDateTime(t.From)) return false;
                if (DateTo is { } u && at > u.ToDateTime(t.To)) return false;
                return true;
            }
            if (DateFrom is { } from && date < from) return false;
            if (DateTo is { } to && date > to) return false;
        }
        else if (_time is { } t && (time < t.From || time > t.To)) return false;
        return true;
    }

    private static bool MatchValue(Kind kind, string pattern, string? value)
    {
        value = value?.Trim() ?? "";
        return kind switch
        {
            Kind.UidList => pattern.Split('\\').Any(p => p.Trim() == value),
            // PS3.4 §C.2.2.2.1: a CS/AE/SH value may list alternatives (multiple values, as DCMTK's wlmscpfs allows for Modality).
            _ => pattern.Split('\\').Any(p => Wildcard(p.Trim(), value, ignoreCase: kind == Kind.PersonName)),
        };
    }

    /// <summary>§C.2.2.2.4: <c>*</c> any run, <c>?</c> one character; case-sensitive except for person names (§C.2.2.2.1.1 lets PN ignore case).</summary>
    private static bool Wildcard(string pattern, string value, bool ignoreCase)
    {
        if (ignoreCase) { pattern = pattern.ToUpperInvariant(); value = value.ToUpperInvariant(); }
        int pi = 0, vi = 0, star = -1, mark = 0;
        while (vi < value.Length)
        {
            if (pi < pattern.Length && (pattern[pi] == '?' || pattern[pi] == value[vi])) { pi++; vi++; }
            else if (pi < pattern.Length && pattern[pi] == '*') { star = pi++; mark = vi; }
            else if (star >= 0) { pi = star + 1; vi = ++mark; }
            else return false;
        }
        while (pi < pattern.Length && pattern[pi] == '*') pi++;
        return pi == pattern.Length;
    }

    private static bool TryRange<T>(string value, Func<string, T?> parse, out T? from, out T? to) where T : struct
    {
        from = to = null;
        int dash = value.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            from = to = parse(value);
            return from is not null;
        }
        var a = value[..dash].Trim();
        var b = value[(dash + 1)..].Trim();
        if (a.Length == 0 && b.Length == 0) return false;
        if (a.Length > 0 && (from = parse(a)) is null) return false;
        if (b.Length > 0 && (to = parse(b)) is null) return false;
        return true;
    }

    private static DateOnly? ParseDate(string s) =>
        // DA is YYYYMMDD; the ACR-NEMA form YYYY.MM.DD is still sent by old devices (PS3.5 §6.2 note).
        DateOnly.TryParseExact(s, ["yyyyMMdd", "yyyy.MM.dd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;

    /// <summary>HH, HHMM, HHMMSS[.F…]; as an upper bound a shorter value covers its whole hour or minute.</summary>
    private static TimeOnly? ParseTime(string s, bool upper)
    {
        var t = s.Replace(":", "", StringComparison.Ordinal);
        int dot = t.IndexOf('.', StringComparison.Ordinal);
        var main = dot < 0 ? t : t[..dot];
        if (main.Length is not (2 or 4 or 6) || !main.All(char.IsAsciiDigit)) return null;
        int h = int.Parse(main[..2], CultureInfo.InvariantCulture);
        int m = main.Length >= 4 ? int.Parse(main[2..4], CultureInfo.InvariantCulture) : upper ? 59 : 0;
        int sec = main.Length >= 6 ? int.Parse(main[4..6], CultureInfo.InvariantCulture) : upper ? 59 : 0;
        if (h > 23 || m > 59 || sec > 60) return null;
        var time = new TimeOnly(h, m, Math.Min(sec, 59));
        return upper && dot < 0 ? time.Add(TimeSpan.FromTicks(TimeSpan.TicksPerSecond - 1)) : time;
    }
}
