using Microsoft.Net.Http.Headers;

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
        var result = new List<WadoAcceptEntry>();
        foreach (var header in acceptHeaders)
        {
            if (string.IsNullOrWhiteSpace(header)) continue;
            if (!MediaTypeHeaderValue.TryParseList([header], out var list)) continue;
            foreach (var m in list)
            {
                string? type = null, ts = null;
                foreach (var p in m.Parameters)
                {
                    var name = p.Name.ToString();
                    var value = HeaderUtilities.RemoveQuotes(p.Value).ToString();
                    if (name.Equals("type", StringComparison.OrdinalIgnoreCase)) type = value.Trim().ToLowerInvariant();
                    else if (name.Equals("transfer-syntax", StringComparison.OrdinalIgnoreCase)) ts = value.Trim();
                }
                // A part type may itself carry the transfer syntax: type="application/dicom; transfer-syntax=..." is seen in the wild.
                if (type is not null && type.Contains(';', StringComparison.Ordinal))
                {
                    var parts = type.Split(';', StringSplitOptions.TrimEntries);
                    type = parts[0];
                    foreach (var extra in parts.Skip(1))
                        if (extra.StartsWith("transfer-syntax=", StringComparison.OrdinalIgnoreCase)) ts ??= extra["transfer-syntax=".Length..].Trim('"');
                }
                double q = m.Quality ?? 1.0;
                if (q <= 0) continue;
                result.Add(new WadoAcceptEntry(m.MediaType.ToString().ToLowerInvariant(), type, ts, q));
            }
        }
        if (result.Count == 0) result.Add(new WadoAcceptEntry("*/*", null, null, 1.0));
        return [.. result.OrderByDescending(e => e.Quality)]; // stable: equal q keep the client's order
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
