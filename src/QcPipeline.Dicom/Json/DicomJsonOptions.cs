namespace QcPipeline.Dicom.Json;

/// <summary>Options for writing the DICOM JSON model (PS3.18 Annex F).</summary>
public sealed record DicomJsonOptions
{
    public static DicomJsonOptions Default { get; } = new();

    /// <summary>Values of binary VRs (OB, OD, OF, OL, OV, OW, UN and the binary numeric VRs) longer than this many
    /// bytes are written as "BulkDataURI" when <see cref="BulkDataUriFactory"/> gives a URI for them; otherwise, and
    /// for shorter values, as "InlineBinary" (numeric VRs: as "Value"). Encapsulated pixel data always asks the factory.</summary>
    public int BulkDataThreshold { get; init; } = 1024;

    /// <summary>Makes the URI for a bulk data value (PS3.18 F.2.6); null means "write it inline".</summary>
    public Func<DicomJsonBulkDataContext, string?>? BulkDataUriFactory { get; init; }

    /// <summary>Non-standard: adds "keyword" next to "vr" in every attribute, as looked up by <see cref="KeywordLookup"/>.
    /// Readers of this toolkit ignore it; other readers may not.</summary>
    public bool WriteKeywords { get; init; }

    /// <summary>Tag → keyword, used when <see cref="WriteKeywords"/> is set (the PS3.6 dictionary supplies it).</summary>
    public Func<DicomTag, string?>? KeywordLookup { get; init; }

    /// <summary>Indented output (only for the methods that create their own writer).</summary>
    public bool Indented { get; init; }
}

/// <summary>What the bulk data URI factory is asked about: the item and where it sits in the dataset.</summary>
public sealed class DicomJsonBulkDataContext
{
    internal DicomJsonBulkDataContext(DicomItem item, DicomTag[] tags, int[] itemIndexes)
    {
        Item = item;
        TagPath = tags;
        ItemIndexes = itemIndexes;
    }

    /// <summary>The element (or encapsulated pixel data) whose value becomes bulk data.</summary>
    public DicomItem Item { get; }

    /// <summary>Tags from the top-level attribute down to <see cref="Item"/>'s tag.</summary>
    public IReadOnlyList<DicomTag> TagPath { get; }

    /// <summary>For each sequence in <see cref="TagPath"/> (all but the last tag) the 0-based item index.</summary>
    public IReadOnlyList<int> ItemIndexes { get; }

    /// <summary>"00540016/0/00181072"-style path, handy for building URIs.</summary>
    public string Path
    {
        get
        {
            var sb = new System.Text.StringBuilder();
            for (int i = 0; i < TagPath.Count; i++)
            {
                if (i > 0) sb.Append('/').Append(ItemIndexes[i - 1].ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('/');
                sb.Append(TagPath[i].Value.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
            }
            return sb.ToString();
        }
    }
}
