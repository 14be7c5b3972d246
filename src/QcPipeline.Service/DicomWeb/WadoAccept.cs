namespace QcPipeline.Service.DicomWeb;

/// <summary>One acceptable representation from the Accept header (PS3.18 §8.7): a media type, for multipart/related the
/// type of its parts, and the transfer-syntax parameter (null: not given; "*": any).</summary>
public sealed record WadoAcceptEntry(string MediaType, string? PartType, string? TransferSyntax, double Quality);

/// <summary>Parses Accept. Malformed entries are skipped; no Accept at all is the same as <c>*/*</c>.</summary>
public static class WadoAccept
{
    public const string ExplicitVRLittleEndian = "1.2.840.10008.1.2.1";

    public static List<WadoAcceptEntry> Parse(IEnumerable<string?> acceptHeaders)
    {
        // A lenient reader, not MediaTypeHeaderValue: viewers send unquoted part types with a '/' (OHIF:
        // "multipart/related; type=application/octet-stream; transfer-syntax=*"), which strict RFC 9110 parsing refuses.
        var result = new List<WadoAcceptEntry>();
        foreach (var header in acceptHeaders)
        {
            if (string.IsNullOrWhiteSpace(header)) continue;
            foreach (var range in SplitOutsideQuotes(header, ','))
            {
                var pieces = SplitOutsideQuotes(range, ';');
                var media = pieces[0].Trim().ToLowerInvariant();
                if (media.Length == 0 || !media.Contains('/', StringComparison.Ordinal)) continue;
                string? type = null, ts = null;
                double q = 1.0;
                foreach (var p in pieces.Skip(1))
                {
                    int eq = p.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0) continue;
                    var name = p[..eq].Trim();
                    var value = p[(eq + 1)..].Trim().Trim('"').Trim();
                    if (name.Equals("type", StringComparison.OrdinalIgnoreCase)) type = value.ToLowerInvariant();
                    else if (name.Equals("transfer-syntax", StringComparison.OrdinalIgnoreCase)) ts = value;
                    else if (name.Equals("q", StringComparison.OrdinalIgnoreCase)
                        && double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var qv)) q = qv;
                }
                // A part type may itself carry the transfer syntax: type="application/dicom; transfer-syntax=..." is seen in the wild.
                if (type is not null && type.Contains(';', StringComparison.Ordinal))
                {
                    var parts = type.Split(';', StringSplitOptions.TrimEntries);
                    type = parts[0];
                    foreach (var extra in parts.Skip(1))
                        if (extra.StartsWith("transfer-syntax=", StringComparison.OrdinalIgnoreCase)) ts ??= extra["transfer-syntax=".Length..].Trim('"');
                }
                if (q <= 0) continue;
                result.Add(new WadoAcceptEntry(media, type, ts, q));
            }
        }
        if (result.Count == 0) result.Add(new WadoAcceptEntry("*/*", null, null, 1.0));
        return [.. result.OrderByDescending(e => e.Quality)]; // stable: equal q keep the client's order
    }

    private static List<string> SplitOutsideQuotes(string s, char separator)
    {
        var list = new List<string>();
        bool quoted = false;
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '"') quoted = !quoted;
            else if (s[i] == separator && !quoted) { list.Add(s[start..i]); start = i + 1; }
        }
        list.Add(s[start..]);
        return list;
    }

    /// <summary>Whether <paramref name="entry"/> accepts a multipart/related response whose parts are <paramref name="partType"/>.</summary>
    public static bool AcceptsMultipart(WadoAcceptEntry entry, string partType, bool partTypeIsDefault) =>
        entry.MediaType switch
        {
            "*/*" or "multipart/*" => true,
            "multipart/related" => entry.PartType is null ? partTypeIsDefault : entry.PartType == partType || entry.PartType == "*/*",
            _ => false,
        };

    /// <summary>The image media type of PS3.18 Table 8.7.3-2 for an encapsulated transfer syntax, or null.</summary>
    public static string? ImageMediaType(string transferSyntaxUid) => transferSyntaxUid switch
    {
        "1.2.840.10008.1.2.4.50" or "1.2.840.10008.1.2.4.51" or "1.2.840.10008.1.2.4.57" or "1.2.840.10008.1.2.4.70" => "image/jpeg",
        "1.2.840.10008.1.2.4.80" or "1.2.840.10008.1.2.4.81" => "image/jls",
        "1.2.840.10008.1.2.4.90" or "1.2.840.10008.1.2.4.91" => "image/jp2",
        "1.2.840.10008.1.2.4.92" or "1.2.840.10008.1.2.4.93" => "image/jpx",
        "1.2.840.10008.1.2.4.201" or "1.2.840.10008.1.2.4.202" or "1.2.840.10008.1.2.4.203" => "image/jphc",
        "1.2.840.10008.1.2.5" => "image/dicom-rle",
        _ => null,
    };

    /// <summary>Older names of the same image media types.</summary>
    public static string NormalizeImageType(string type) => type switch
    {
        "image/x-jls" => "image/jls",
        "image/x-dicom-rle" => "image/dicom-rle",
        _ => type,
    };
}
