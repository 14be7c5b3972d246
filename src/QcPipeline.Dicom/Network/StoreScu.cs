using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.Imaging.Codecs;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Network;

/// <summary>A Part 10 file to send by C-STORE, known from its header only.</summary>
/// <param name="DatasetOffset">First byte of the data set after the File Meta Information.</param>
/// <param name="DatasetLength">Bytes from <paramref name="DatasetOffset"/> to the end of the file: the data set as stored.</param>
public sealed record StoreScuFile(string Path, string SopClassUid, string SopInstanceUid, TransferSyntax TransferSyntax, long DatasetOffset, long DatasetLength)
{
    private const string DicomDirClass = "1.2.840.10008.1.3.10";

    /// <summary>Reads the header (up to the pixel data) and takes SOP class and instance from the data set, or from the
    /// File Meta Information when the data set lacks them.</summary>
    /// <exception cref="DicomFormatException">Not DICOM, malformed, a DICOMDIR, or without SOP Class/Instance UID.</exception>
    public static StoreScuFile Read(string path)
    {
        using var file = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        var meta = file.FileMetaInformation;
        string? sopClass = NonEmpty(file.Dataset.GetString(DicomTags.SOPClassUID)) ?? NonEmpty(meta.GetString(DicomTags.MediaStorageSOPClassUID));
        string? sopInstance = NonEmpty(file.Dataset.GetString(DicomTags.SOPInstanceUID)) ?? NonEmpty(meta.GetString(DicomTags.MediaStorageSOPInstanceUID));
        if (sopClass == DicomDirClass) throw new DicomFormatException("a DICOMDIR (media directory) is not an instance to store");
        if (sopClass is null || sopInstance is null)
            throw new DicomFormatException("not a DICOM instance: no SOP Class UID or SOP Instance UID");
        long length = new FileInfo(path).Length;
        return new StoreScuFile(path, sopClass, sopInstance, file.TransferSyntax, file.DatasetOffset, Math.Max(0, length - file.DatasetOffset));
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}

/// <summary>One association's worth of work: the presentation contexts to propose and the files (indexes into the
/// planned list, in their original order) to send over it.</summary>
public sealed record StoreScuAssociation(IReadOnlyList<PresentationContextRequest> Contexts, IReadOnlyList<int> Files);

/// <summary>Where a file goes: the accepted context and the syntax its data set is sent in. <see cref="Transcode"/> is
/// true when that syntax differs from the file's, so the data set is re-encoded in memory instead of streamed.</summary>
public sealed record StoreScuRoute(PresentationContextAccept Context, TransferSyntax SendAs, bool Transcode);

/// <summary>The C-STORE SCU side of sending Part 10 files (PS3.4 Annex B, PS3.8 §9.3.2.2): which presentation contexts
/// to propose, which accepted one to use per file, and the data set bytes to send. Streams the data set straight from
/// the file when the accepted syntax is the file's own, so a file of any size costs two PDU buffers.</summary>
public static class StoreScu
{
    /// <summary>Presentation context ids are odd, 1..255 (PS3.8 §9.3.2.2): at most 128 per association; 127 leaves
    /// room for a Verification context.</summary>
    public const int MaxContextsPerAssociation = 127;

    /// <summary>The fallback context of every SOP class in "keep" mode: the two uncompressed little-endian syntaxes that
    /// every storage SCP supports (Implicit VR LE is the default syntax, PS3.5 §10.1).</summary>
    public static readonly IReadOnlyList<string> UncompressedSyntaxes = [DicomUids.ExplicitVRLittleEndian, DicomUids.ImplicitVRLittleEndian];

    /// <summary>Whether a data set in <paramref name="from"/> can be re-encoded in <paramref name="to"/> here: native
    /// syntaxes to each other (the writer), encapsulated ones we decode to native, and anything we decode to RLE.</summary>
    public static bool CanTranscode(TransferSyntax from, TransferSyntax to, PixelCodecRegistry? codecs = null)
    {
        if (from == to) return true;
        if (to.IsEncapsulated && to != TransferSyntax.RleLossless) return false;
        if (!to.IsKnown) return false;
        return !from.IsEncapsulated || (codecs ?? DicomPixelData.DefaultCodecs).TryGet(from.Uid, out _);
    }

    /// <summary>The presentation contexts (as lists of transfer syntaxes) a file in <paramref name="fileSyntax"/> needs.
    /// With no <paramref name="target"/> ("keep"): one with the file's own syntax, plus Explicit/Implicit VR LE when the
    /// file can be re-encoded in them. The acceptor picks one syntax per context by its own preference (PS3.8 §9.3.3.2),
    /// so the file's syntax gets a context of its own: otherwise an SCP that prefers uncompressed would force a
    /// decompression the file never needed. With a target, only the target.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> ContextsFor(TransferSyntax fileSyntax, TransferSyntax? target, PixelCodecRegistry? codecs = null)
    {
        if (target is not null) return [[target.Uid]];
        var own = new[] { fileSyntax.Uid };
        if (CanTranscode(fileSyntax, TransferSyntax.ExplicitVRLittleEndian, codecs)) return [own, UncompressedSyntaxes];
        return [own];
    }

    /// <summary>Groups the files into associations of at most <paramref name="maxContexts"/> contexts each. A SOP class's
    /// contexts always share an association; SOP classes are packed first-fit in the order they first appear, and each
    /// association sends its files in their original order. Files that cannot be sent in <paramref name="target"/> at all
    /// should be left out by the caller (see <see cref="CanTranscode"/>).</summary>
    public static IReadOnlyList<StoreScuAssociation> Plan(IReadOnlyList<StoreScuFile> files, TransferSyntax? target,
        int maxContexts = MaxContextsPerAssociation, PixelCodecRegistry? codecs = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxContexts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxContexts, 128);
        // Per SOP class, the distinct syntax lists needed, in order of first appearance.
        var classes = new List<(string SopClass, List<IReadOnlyList<string>> Contexts, List<int> Files)>();
        var byClass = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < files.Count; i++)
        {
            var f = files[i];
            if (!byClass.TryGetValue(f.SopClassUid, out int c))
            {
                byClass[f.SopClassUid] = c = classes.Count;
                classes.Add((f.SopClassUid, [], []));
            }
            classes[c].Files.Add(i);
            foreach (var syntaxes in ContextsFor(f.TransferSyntax, target, codecs))
            {
                if (!classes[c].Contexts.Any(x => x.SequenceEqual(syntaxes, StringComparer.Ordinal)))
                    classes[c].Contexts.Add(syntaxes);
            }
        }

        var bins = new List<(List<int> Classes, int Count)>();
        for (int c = 0; c < classes.Count; c++)
        {
            // A class never needs more than a handful of contexts; one that would not fit alone is split below.
            int need = Math.Min(classes[c].Contexts.Count, maxContexts);
            int bin = bins.FindIndex(b => b.Count + need <= maxContexts);
            if (bin < 0) { bins.Add(([], 0)); bin = bins.Count - 1; }
            bins[bin].Classes.Add(c);
            bins[bin] = (bins[bin].Classes, bins[bin].Count + need);
        }

        var plans = new List<StoreScuAssociation>(bins.Count);
        foreach (var (binClasses, _) in bins)
        {
            var contexts = new List<PresentationContextRequest>();
            foreach (int c in binClasses)
            {
                foreach (var syntaxes in classes[c].Contexts.Take(maxContexts))
                    contexts.Add(new PresentationContextRequest((byte)(2 * contexts.Count + 1), classes[c].SopClass, syntaxes));
            }
            var members = binClasses.SelectMany(c => classes[c].Files).Order().ToList();
            plans.Add(new StoreScuAssociation(contexts, members));
        }
        return plans;
    }

    /// <summary>Chooses the accepted context for a file: one whose syntax is the file's own (streamed as stored), else,
    /// for "keep", an uncompressed one (Explicit VR LE first) the file can be re-encoded in, else the target's. Null
    /// when the peer accepted nothing usable.</summary>
    public static StoreScuRoute? Route(AssociateAccept accept, IReadOnlyList<PresentationContextRequest> proposed, StoreScuFile file,
        TransferSyntax? target, PixelCodecRegistry? codecs = null)
    {
        var accepted = new List<PresentationContextAccept>();
        foreach (var ac in accept.PresentationContexts)
        {
            if (ac.Result != PresentationContextResult.Acceptance) continue;
            var rq = proposed.FirstOrDefault(p => p.Id == ac.Id);
            if (rq is null || rq.AbstractSyntax != file.SopClassUid || !rq.TransferSyntaxes.Contains(ac.TransferSyntax)) continue;
            accepted.Add(ac);
        }
        string[] wanted = target is not null
            ? [target.Uid]
            : [file.TransferSyntax.Uid, DicomUids.ExplicitVRLittleEndian, DicomUids.ImplicitVRLittleEndian];
        foreach (var uid in wanted)
        {
            var ac = accepted.FirstOrDefault(a => a.TransferSyntax == uid);
            if (ac is null) continue;
            var sendAs = TransferSyntax.Lookup(uid);
            if (sendAs == file.TransferSyntax) return new StoreScuRoute(ac, sendAs, Transcode: false);
            if (CanTranscode(file.TransferSyntax, sendAs, codecs)) return new StoreScuRoute(ac, sendAs, Transcode: true);
        }
        return null;
    }

    /// <summary>Why no context could be used for the file, naming what the peer answered for its SOP class.</summary>
    public static string DescribeNoRoute(AssociateAccept accept, IReadOnlyList<PresentationContextRequest> proposed, StoreScuFile file)
    {
        var answers = new List<string>();
        foreach (var rq in proposed.Where(p => p.AbstractSyntax == file.SopClassUid))
        {
            var ac = accept.PresentationContexts.FirstOrDefault(a => a.Id == rq.Id);
            string answer = ac is null ? "no answer"
                : ac.Result == PresentationContextResult.Acceptance ? "accepted " + SyntaxName(ac.TransferSyntax)
                : ac.Result switch
                {
                    PresentationContextResult.UserRejection => "rejected by the user",
                    PresentationContextResult.AbstractSyntaxNotSupported => "SOP class not supported",
                    PresentationContextResult.TransferSyntaxesNotSupported => "transfer syntaxes not supported",
                    _ => "rejected, no reason",
                };
            answers.Add($"{string.Join(" / ", rq.TransferSyntaxes.Select(SyntaxName))}: {answer}");
        }
        string sopName = DicomUids.Lookup(file.SopClassUid)?.Name ?? file.SopClassUid;
        return $"no accepted presentation context for {sopName} in {file.TransferSyntax.Name} or a syntax it can be converted to ({string.Join("; ", answers)})";
    }

    private static string SyntaxName(string uid) => TransferSyntax.Lookup(uid).Name;

    /// <summary>The data set to send for a route: the file itself from its data set offset (streamed, nothing loaded), or
    /// the data set re-encoded in the route's syntax in memory. The caller disposes the stream.</summary>
    /// <exception cref="NotSupportedException">The pixel data cannot be converted (no codec, 1-bit data to RLE).</exception>
    /// <exception cref="DicomPixelDataException">The pixel data is corrupt.</exception>
    /// <exception cref="DicomFormatException">The file is malformed past its header.</exception>
    public static Stream OpenDataset(StoreScuFile file, StoreScuRoute route, PixelCodecRegistry? codecs = null)
    {
        if (!route.Transcode)
        {
            var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
            try
            {
                stream.Position = file.DatasetOffset;
                return stream; // DicomClient pads an odd-length (deflated) data set to even length as it sends it
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }
        using var source = DicomFile.Open(file.Path, DicomReadOptions.Default);
        var converted = DicomTranscoder.Transcode(source, route.SendAs, codecs);
        var body = new MemoryStream();
        DicomWriter.WriteDatasetBody(body, converted.Dataset, route.SendAs, DicomWriteOptions.Default);
        body.Position = 0;
        return body;
    }
}
