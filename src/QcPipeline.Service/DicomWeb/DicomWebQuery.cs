using System.Globalization;
using QcPipeline.Dicom;

namespace QcPipeline.Service.DicomWeb;

public enum QidoLevel { Study, Series, Instance }

/// <summary>How a query key is matched (PS3.4 C.2.2.2): text (single value, wildcard), UID list, date range, integer.</summary>
public enum QidoKeyKind { Text, PersonName, Uid, Date, Integer }

/// <summary>A key the index can answer: its tag, VR, level and the column of <see cref="Index.InstanceRecord"/>.</summary>
public sealed record QidoKey(DicomTag Tag, string Keyword, DicomVR VR, QidoLevel Level, QidoKeyKind Kind, string Column);

/// <summary>One matching condition of a query.</summary>
public abstract record QidoMatch(QidoKey Key);
public sealed record QidoSingleValue(QidoKey Key, string Value) : QidoMatch(Key);
public sealed record QidoWildcard(QidoKey Key, string Pattern) : QidoMatch(Key);
public sealed record QidoUidList(QidoKey Key, IReadOnlyList<string> Uids) : QidoMatch(Key);
/// <summary>Date range; either bound may be null (open). Bounds are YYYYMMDD.</summary>
public sealed record QidoRange(QidoKey Key, string? From, string? To) : QidoMatch(Key);
public sealed record QidoInteger(QidoKey Key, int Value) : QidoMatch(Key);

/// <summary>A parsed QIDO-RS request (PS3.18 §8.3.4 query parameters).</summary>
public sealed record DicomWebQuery
{
    public required QidoLevel Level { get; init; }
    public IReadOnlyList<QidoMatch> Matches { get; init; } = [];
    public IReadOnlySet<DicomTag> IncludeFields { get; init; } = new HashSet<DicomTag>();
    public bool IncludeAll { get; init; }
    public int Limit { get; init; }
    public bool LimitGiven { get; init; }
    public int Offset { get; init; }
    /// <summary>Parameters understood but not applied (they go into a Warning header).</summary>
    public IReadOnlyList<string> Ignored { get; init; } = [];
}

/// <summary>A request that cannot be answered as asked: HTTP 400 with this message (no patient values in it).</summary>
public sealed class DicomWebBadRequestException(string message) : Exception(message);

/// <summary>Parses QIDO-RS query parameters. Keys are keywords or 8-digit hex tags (PS3.18 §8.3.4.1); values follow the
/// matching rules of PS3.4 C.2.2.2 for the keys the index holds (<see cref="Keys"/>).</summary>
public static class DicomWebQueryParser
{
    private const int MaxValueLength = 1024;
    private const int MaxUids = 1000;

    public static readonly IReadOnlyList<QidoKey> Keys =
    [
        K(DicomTags.PatientName, "PatientName", DicomVR.PN, QidoLevel.Study, QidoKeyKind.PersonName),
        K(DicomTags.PatientID, "PatientId", DicomVR.LO, QidoLevel.Study, QidoKeyKind.Text),
        K(DicomTags.PatientBirthDate, "PatientBirthDate", DicomVR.DA, QidoLevel.Study, QidoKeyKind.Date),
        K(DicomTags.PatientSex, "PatientSex", DicomVR.CS, QidoLevel.Study, QidoKeyKind.Text),
        K(DicomTags.StudyDate, "StudyDate", DicomVR.DA, QidoLevel.Study, QidoKeyKind.Date),
        K(DicomTags.StudyTime, "StudyTime", DicomVR.TM, QidoLevel.Study, QidoKeyKind.Text),
        K(DicomTags.AccessionNumber, "AccessionNumber", DicomVR.SH, QidoLevel.Study, QidoKeyKind.Text),
        K(DicomTags.StudyID, "StudyId", DicomVR.SH, QidoLevel.Study, QidoKeyKind.Text),
        K(DicomTags.StudyDescription, "StudyDescription", DicomVR.LO, QidoLevel.Study, QidoKeyKind.Text),
        K(DicomTags.ReferringPhysicianName, "ReferringPhysicianName", DicomVR.PN, QidoLevel.Study, QidoKeyKind.PersonName),
        K(DicomTags.StudyInstanceUID, "StudyInstanceUid", DicomVR.UI, QidoLevel.Study, QidoKeyKind.Uid),
        // ModalitiesInStudy matches the Modality of any instance of the study (PS3.4 C.6.1.1.2 key of the study level).
        K(DicomTags.ModalitiesInStudy, "Modality", DicomVR.CS, QidoLevel.Study, QidoKeyKind.Text),
        K(DicomTags.Modality, "Modality", DicomVR.CS, QidoLevel.Series, QidoKeyKind.Text),
        K(DicomTags.SeriesInstanceUID, "SeriesInstanceUid", DicomVR.UI, QidoLevel.Series, QidoKeyKind.Uid),
        K(DicomTags.SeriesNumber, "SeriesNumber", DicomVR.IS, QidoLevel.Series, QidoKeyKind.Integer),
        K(DicomTags.SeriesDescription, "SeriesDescription", DicomVR.LO, QidoLevel.Series, QidoKeyKind.Text),
        K(DicomTags.StationName, "StationName", DicomVR.SH, QidoLevel.Series, QidoKeyKind.Text),
        K(DicomTags.PerformedProcedureStepStartDate, "PerformedProcedureStepStartDate", DicomVR.DA, QidoLevel.Series, QidoKeyKind.Date),
        K(DicomTags.PerformedProcedureStepStartTime, "PerformedProcedureStepStartTime", DicomVR.TM, QidoLevel.Series, QidoKeyKind.Text),
        K(DicomTags.SOPInstanceUID, "SopInstanceUid", DicomVR.UI, QidoLevel.Instance, QidoKeyKind.Uid),
        K(DicomTags.SOPClassUID, "SopClassUid", DicomVR.UI, QidoLevel.Instance, QidoKeyKind.Uid),
        K(DicomTags.InstanceNumber, "InstanceNumber", DicomVR.IS, QidoLevel.Instance, QidoKeyKind.Integer),
    ];

    private static QidoKey K(DicomTag tag, string column, DicomVR vr, QidoLevel level, QidoKeyKind kind) =>
        new(tag, DicomDictionary.Lookup(tag)?.Keyword ?? column, vr, level, kind, column);

    private static readonly Dictionary<DicomTag, QidoKey> ByTag = Keys.ToDictionary(k => k.Tag);

    public static DicomWebQuery Parse(QidoLevel level, IEnumerable<KeyValuePair<string, string?[]>> parameters, int maxLimit)
    {
        var matches = new List<QidoMatch>();
        var include = new HashSet<DicomTag>();
        var ignored = new List<string>();
        bool includeAll = false, limitGiven = false;
        int limit = maxLimit, offset = 0;
        var seenKeys = new HashSet<DicomTag>();
        foreach (var (name, values) in parameters)
        {
            foreach (var raw in values)
            {
                var value = raw ?? "";
                if (value.Length > MaxValueLength) throw new DicomWebBadRequestException($"the value of '{Short(name)}' is longer than {MaxValueLength} characters");
                switch (name)
                {
                    case "limit":
                        limit = PositiveInt(name, value, min: 1);
                        limitGiven = true;
                        continue;
                    case "offset":
                        offset = PositiveInt(name, value, min: 0);
                        continue;
                    case "fuzzymatching":
                        if (value is not ("true" or "false")) throw new DicomWebBadRequestException("fuzzymatching must be true or false");
                        if (value == "true") ignored.Add("fuzzymatching"); // not supported: literal matching (PS3.18 §8.3.4.5)
                        continue;
                    case "includefield":
                        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                        {
                            if (part == "all") includeAll = true;
                            else include.Add(Attribute(part));
                        }
                        continue;
                }
                var tag = Attribute(name);
                if (!ByTag.TryGetValue(tag, out var key))
                {
                    // A real attribute the index does not hold: not matched, said so in the Warning header.
                    ignored.Add(name);
                    continue;
                }
                if (!seenKeys.Add(tag)) throw new DicomWebBadRequestException($"query key {key.Keyword} is given more than once");
                if (Match(key, value) is { } m) matches.Add(m);
                include.Add(tag); // a matching key is also a return key (PS3.4 C.2.2.1)
            }
        }
        if (limit > maxLimit)
        {
            ignored.Add($"limit above {maxLimit.ToString(CultureInfo.InvariantCulture)}");
            limit = maxLimit;
        }
        return new DicomWebQuery
        {
            Level = level, Matches = matches, IncludeFields = include, IncludeAll = includeAll, Limit = limit, LimitGiven = limitGiven,
            Offset = offset, Ignored = ignored,
        };
    }

    private static string Short(string s) => s.Length <= 64 ? s : s[..64] + "…";

    private static int PositiveInt(string name, string value, int min)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min)
            throw new DicomWebBadRequestException($"{name} must be an integer of at least {min}");
        return n;
    }

    /// <summary>A keyword of PS3.6 or 8 hexadecimal digits (PS3.18 §8.3.4.1 attributeID). Sequence paths are not supported.</summary>
    public static DicomTag Attribute(string id)
    {
        if (id.Contains('.', StringComparison.Ordinal)) throw new DicomWebBadRequestException($"'{Short(id)}': matching on sequence attributes is not supported");
        if (id.Length == 8 && uint.TryParse(id, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v)) return new DicomTag(v);
        if (DicomDictionary.TryGetTag(id, out var tag)) return tag;
        throw new DicomWebBadRequestException($"'{Short(id)}' is not a query parameter, a DICOM keyword or a tag");
    }

    private static QidoMatch? Match(QidoKey key, string value)
    {
        // Universal matching: an empty value (or a lone '*') only asks for the attribute to be returned.
        if (value.Length == 0 || value == "*") return null;
        switch (key.Kind)
        {
            case QidoKeyKind.Uid:
                var uids = value.Split('\\');
                if (uids.Length > MaxUids) throw new DicomWebBadRequestException($"{key.Keyword}: more than {MaxUids} UIDs");
                foreach (var u in uids)
                    if (u.Length is 0 or > 64 || u.Any(c => c is not ('.' or (>= '0' and <= '9'))))
                        throw new DicomWebBadRequestException($"{key.Keyword}: not a UID or a list of UIDs separated by '\\'");
                return new QidoUidList(key, uids);
            case QidoKeyKind.Date:
                int dash = value.IndexOf('-', StringComparison.Ordinal);
                if (dash < 0) return new QidoSingleValue(key, Date(key, value));
                if (value.IndexOf('-', dash + 1) >= 0 || value.Length == 1) throw new DicomWebBadRequestException($"{key.Keyword}: a date range is YYYYMMDD-YYYYMMDD, -YYYYMMDD or YYYYMMDD-");
                string? from = dash == 0 ? null : Date(key, value[..dash]);
                string? to = dash == value.Length - 1 ? null : Date(key, value[(dash + 1)..]);
                if (from is not null && to is not null && string.CompareOrdinal(from, to) > 0)
                    throw new DicomWebBadRequestException($"{key.Keyword}: the range ends before it starts");
                return new QidoRange(key, from, to);
            case QidoKeyKind.Integer:
                if (!int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                    throw new DicomWebBadRequestException($"{key.Keyword}: not an integer");
                return new QidoInteger(key, n);
            default:
                if (value.Contains('\\', StringComparison.Ordinal))
                    throw new DicomWebBadRequestException($"{key.Keyword}: list matching is only supported for UIDs");
                return value.AsSpan().IndexOfAny('*', '?') >= 0 ? new QidoWildcard(key, value) : new QidoSingleValue(key, value);
        }
    }

    private static string Date(QidoKey key, string s)
    {
        if (s.Length != 8 || !DicomValues.TryParseDA(s, out _)) throw new DicomWebBadRequestException($"{key.Keyword}: not a date (YYYYMMDD)");
        return s;
    }
}
