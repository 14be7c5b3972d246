using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Win32.SafeHandles;
using QcPipeline.Dicom;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Json;
using QcPipeline.Service.Index;
using QcPipeline.Service.Storage;

namespace QcPipeline.Service.DicomWeb;

/// <summary>Thrown for a WADO-RS request that names something we do not hold (404) or asks for a representation we cannot
/// produce (406). The message holds no patient values.</summary>
public sealed class WadoException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>WADO-RS (PS3.18 §10.4): instances are streamed from their stored Part 10 files, one at a time, as stored
/// (no transcoding); metadata from header-only reads with bulk data as BulkDataURIs; frames and bulk data cut out of the
/// file by offset.</summary>
public sealed class WadoService(IDbContextFactory<IndexDbContext> dbFactory, IInstanceStore store, ILogger<WadoService> logger)
{
    private const int CopyBuffer = 64 * 1024;

    public async Task<List<InstanceRecord>> FindAsync(string study, string? series, string? sop, CancellationToken ct)
    {
        var db = await dbFactory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var q = db.Instances.AsNoTracking().Where(i => i.StudyInstanceUid == study);
            if (series is not null) q = q.Where(i => i.SeriesInstanceUid == series);
            if (sop is not null) q = q.Where(i => i.SopInstanceUid == sop);
            var rows = await q.OrderBy(i => i.SeriesNumber).ThenBy(i => i.SeriesInstanceUid).ThenBy(i => i.InstanceNumber).ThenBy(i => i.SopInstanceUid)
                .ToListAsync(ct).ConfigureAwait(false);
            if (rows.Count == 0) throw new WadoException(404, sop is not null ? "instance not found" : series is not null ? "series not found" : "study not found");
            return rows;
        }
    }

    /// <summary>A local file of the instance for the readers that work by path and offset (metadata, frames, bulk data): the
    /// stored file, or a copy of the object deleted when the checkout is disposed. A missing instance gives a path that
    /// does not exist (404 below); a store that cannot be read is an <see cref="IOException"/> (500).</summary>
    private async Task<InstanceCheckout> CheckoutAsync(InstanceRecord r, CancellationToken ct)
    {
        try
        {
            return await store.CheckoutAsync([r.Path], ct).ConfigureAwait(false);
        }
        catch (InstanceStoreException ex)
        {
            logger.LogDebug(ex, "WADO-RS: instance store read failure");
            throw new WadoException(503, "the instance store cannot be read");
        }
    }

    // ------------------------------------------------------------------ retrieve instances

    /// <summary>multipart/related; type="application/dicom" (PS3.18 §8.7.3.1). Every part is the stored file as is, so the
    /// client's Accept must allow the stored transfer syntaxes: no transfer-syntax parameter or "*" (both: as stored), or
    /// exactly the one every instance is stored in; anything else is 406.</summary>
    public static void NegotiateInstances(List<WadoAcceptEntry> accept, IReadOnlyList<InstanceRecord> rows)
    {
        foreach (var e in accept)
        {
            if (!WadoAccept.AcceptsMultipart(e, "application/dicom", partTypeIsDefault: true)) continue;
            if (e.TransferSyntax is null or "*" || rows.All(r => r.TransferSyntaxUid == e.TransferSyntax)) return;
        }
        throw new WadoException(406, "instances are served as stored: accept multipart/related; type=\"application/dicom\" with transfer-syntax=* or the stored transfer syntax");
    }

    public async Task WriteInstancesAsync(HttpContext http, IReadOnlyList<InstanceRecord> rows, CancellationToken ct)
    {
        foreach (var r in rows)
        {
            bool exists;
            try { exists = await store.ExistsAsync(r.Path, ct).ConfigureAwait(false); }
            catch (InstanceStoreException) { throw new WadoException(503, "the instance store cannot be read"); }
            if (!exists) throw new WadoException(404, "an instance file is missing from the store");
        }
        var boundary = NewBoundary();
        http.Response.StatusCode = 200;
        http.Response.ContentType = $"multipart/related; type=\"application/dicom\"; boundary={boundary}";
        var body = http.Response.Body;
        foreach (var r in rows)
        {
            InstanceStream fs;
            try
            {
                fs = await store.OpenReadAsync(r.Path, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Replaced or removed since the query: the response has started, so end it broken rather than short.
                logger.LogWarning("WADO-RS: an instance file disappeared during a retrieve ({ExceptionType}); the response is aborted", ex.GetType().Name);
                http.Abort();
                return;
            }
            await using (fs.ConfigureAwait(false))
            {
                await WritePartHeaderAsync(body, boundary, $"application/dicom; transfer-syntax={r.TransferSyntaxUid}", fs.Length, ct).ConfigureAwait(false);
                await fs.Stream.CopyToAsync(body, CopyBuffer, ct).ConfigureAwait(false);
                await body.WriteAsync("\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            }
        }
        await WriteCloseAsync(body, boundary, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ metadata

    public async Task WriteMetadataAsync(HttpContext http, IReadOnlyList<InstanceRecord> rows, string baseUrl, CancellationToken ct)
    {
        // Each instance is read and serialized into a buffer before any of it is sent: one instance's JSON in memory at
        // a time, and a failure on the first instance can still be an error status instead of a cut response.
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var body = http.Response.Body;
        bool started = false;
        foreach (var r in rows)
        {
            buffer.ResetWrittenCount();
            try
            {
                DicomDataset ds;
                var local = await store.CheckoutAsync([r.Path], ct).ConfigureAwait(false);
                await using (local.ConfigureAwait(false)) ds = ReadMetadata(local.Paths[0], r, baseUrl);
                var instanceUrl = InstanceUrl(baseUrl, r);
                using var writer = DicomJson.CreateWriter(buffer);
                DicomJson.Write(writer, ds, new DicomJsonOptions
                {
                    BulkDataThreshold = 1024,
                    BulkDataUriFactory = c => $"{instanceUrl}/bulkdata/{c.Path}",
                });
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !started)
            {
                logger.LogWarning("WADO-RS: an instance file could not be read for metadata ({ExceptionType})", ex.GetType().Name);
                logger.LogDebug(ex, "WADO-RS metadata read failure");
                throw new WadoException(ex is FileNotFoundException or DirectoryNotFoundException ? 404 : ex is InstanceStoreException ? 503 : 500,
                    "a stored instance cannot be read");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Part of the array is out: end the response broken rather than short.
                logger.LogWarning("WADO-RS: an instance file could not be read for metadata ({ExceptionType}); the response is aborted", ex.GetType().Name);
                logger.LogDebug(ex, "WADO-RS metadata read failure");
                http.Abort();
                return;
            }
            if (!started)
            {
                http.Response.StatusCode = 200;
                http.Response.ContentType = "application/dicom+json";
                await body.WriteAsync("["u8.ToArray(), ct).ConfigureAwait(false);
                started = true;
            }
            else
            {
                await body.WriteAsync(","u8.ToArray(), ct).ConfigureAwait(false);
            }
            await body.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
        }
        await body.WriteAsync("]"u8.ToArray(), ct).ConfigureAwait(false);
    }

    public static string InstanceUrl(string baseUrl, InstanceRecord r) =>
        $"{baseUrl}/studies/{r.StudyInstanceUid}/series/{r.SeriesInstanceUid}/instances/{r.SopInstanceUid}";

    /// <summary>The header of the stored file (everything before the top-level pixel data, which becomes a BulkDataURI).
    /// Elements after the pixel data (rare: trailing padding) are not included.</summary>
    private static DicomDataset ReadMetadata(string path, InstanceRecord r, string baseUrl)
    {
        using var header = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        // A deflated data set has no offsets: it is inflated whole anyway, so read it whole and let the bulk data URI
        // factory stand in for its Pixel Data (values over the 1 KiB threshold).
        using var file = header.TransferSyntax.IsDeflated ? DicomFile.Open(path) : header;
        var ds = file.Dataset;
        if (file.PixelDataOffset >= 0)
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            if (WadoPixelData.Locate(handle, ds, file.TransferSyntax, file.PixelDataOffset) is { } px)
            {
                var vr = px.IsEncapsulated ? DicomVR.OB : px.VR;
                ds.AddOrUpdate(DicomJson.CreateBulkDataReference(px.Tag, vr, $"{InstanceUrl(baseUrl, r)}/bulkdata/{px.Tag.Value:X8}"));
            }
        }
        return ds;
    }

    // ------------------------------------------------------------------ frames

    private sealed record FrameFormat(string PartContentType, string MultipartType);

    /// <summary>Chooses the representation of the frames of one instance (PS3.18 §8.7.3.3, Table 8.7.3-2): uncompressed
    /// frames as application/octet-stream in Explicit VR Little Endian; compressed frames as stored, either as
    /// application/octet-stream with transfer-syntax=* (or the stored UID) — what OHIF asks for — or as the image media
    /// type of the stored syntax (image/jpeg, image/jls, image/jp2, ...). Decompressing is not offered: 406.</summary>
    private static FrameFormat NegotiateFrames(List<WadoAcceptEntry> accept, string storedTs, bool encapsulated)
    {
        var image = encapsulated ? WadoAccept.ImageMediaType(storedTs) : null;
        foreach (var e in accept)
        {
            if (e.MediaType is "*/*" or "multipart/*" || (e.MediaType == "multipart/related" && e.PartType is null or "*/*"))
            {
                if (!encapsulated) return Octet(WadoAccept.ExplicitVRLittleEndian);
                return image is not null ? new FrameFormat($"{image}; transfer-syntax={storedTs}", image) : Octet(storedTs);
            }
            if (e.MediaType != "multipart/related") continue;
            var part = WadoAccept.NormalizeImageType(e.PartType!);
            if (part == "application/octet-stream")
            {
                if (!encapsulated && e.TransferSyntax is null or "*" or WadoAccept.ExplicitVRLittleEndian) return Octet(WadoAccept.ExplicitVRLittleEndian);
                if (encapsulated && (e.TransferSyntax == "*" || e.TransferSyntax == storedTs)) return Octet(storedTs);
            }
            else if (image is not null && part == image && (e.TransferSyntax is null or "*" || e.TransferSyntax == storedTs))
            {
                return new FrameFormat($"{image}; transfer-syntax={storedTs}", image);
            }
        }
        throw new WadoException(406, encapsulated
            ? "frames are served as stored (compressed): accept multipart/related; type=\"application/octet-stream\"; transfer-syntax=* or the image media type of the stored transfer syntax"
            : "uncompressed frames are served as multipart/related; type=\"application/octet-stream\" (Explicit VR Little Endian)");

        static FrameFormat Octet(string ts) => new($"application/octet-stream; transfer-syntax={ts}", "application/octet-stream");
    }

    /// <summary>"1,3,5" → 0-based indexes; 400 for anything but positive integers.</summary>
    public static List<int> ParseFrameList(string text, int max)
    {
        var result = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
                throw new DicomWebBadRequestException("frame numbers are positive integers separated by commas");
            if (result.Count == max) throw new DicomWebBadRequestException($"more than {max} frames in one request");
            result.Add(n - 1);
        }
        return result;
    }

    public async Task WriteFramesAsync(HttpContext http, InstanceRecord r, List<int> frames, List<WadoAcceptEntry> accept, CancellationToken ct)
    {
        var local = await CheckoutAsync(r, ct).ConfigureAwait(false);
        await using (local.ConfigureAwait(false)) await WriteFramesAsync(http, local.Paths[0], frames, accept, ct).ConfigureAwait(false);
    }

    private async Task WriteFramesAsync(HttpContext http, string path, List<int> frames, List<WadoAcceptEntry> accept, CancellationToken ct)
    {
        using var header = OpenHeader(path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        if (header.TransferSyntax.IsDeflated) { await WriteDeflatedFramesAsync(http, path, frames, accept, ct).ConfigureAwait(false); return; }
        var px = WadoPixelData.Locate(handle, header.Dataset, header.TransferSyntax, header.PixelDataOffset);
        if (px is null || px.Tag != DicomTags.PixelData) throw new WadoException(404, "the instance has no pixel data");
        foreach (var f in frames) if (f >= px.NumberOfFrames) throw new WadoException(404, $"frame {f + 1} does not exist: the instance has {px.NumberOfFrames}");
        var format = NegotiateFrames(accept, header.TransferSyntax.Uid, px.IsEncapsulated);

        // Locate every frame before the first byte goes out, so a broken file is an error status, not a cut response.
        var ranges = new List<IReadOnlyList<FileRange>>(frames.Count);
        try
        {
            foreach (var f in frames) ranges.Add(px.Frame(handle, f));
        }
        catch (NotSupportedException ex) { throw new WadoException(406, $"frame cannot be served: {ex.Message}"); }
        catch (DicomFormatException ex)
        {
            logger.LogWarning("WADO-RS: frames of a stored instance cannot be located ({Problem})", ex.GetType().Name);
            logger.LogDebug(ex, "frame location failure");
            throw new WadoException(500, "the stored pixel data is damaged");
        }
        int swap = SwapUnit(header.TransferSyntax, px);
        var boundary = NewBoundary();
        http.Response.StatusCode = 200;
        http.Response.ContentType = $"multipart/related; type=\"{format.MultipartType}\"; boundary={boundary}";
        var body = http.Response.Body;
        foreach (var frame in ranges)
        {
            long length = frame.Sum(x => x.Length);
            await WritePartHeaderAsync(body, boundary, format.PartContentType, length, ct).ConfigureAwait(false);
            foreach (var range in frame) await CopyRangeAsync(handle, range, body, swap, ct).ConfigureAwait(false);
            await body.WriteAsync("\r\n"u8.ToArray(), ct).ConfigureAwait(false);
        }
        await WriteCloseAsync(body, boundary, ct).ConfigureAwait(false);
    }

    /// <summary>Explicit VR Big Endian (retired) stores words big-endian: frames are served little-endian (PS3.5 §7.3).</summary>
    private static int SwapUnit(TransferSyntax ts, WadoPixelData px)
    {
        if (ts.IsLittleEndian || px.IsEncapsulated) return 1;
        return px.VR switch { DicomVR.OW => 2, DicomVR.OF or DicomVR.OL => 4, DicomVR.OD or DicomVR.OV => 8, _ => 1 };
    }

    /// <summary>A deflated data set has no offsets into the file: it is inflated whole (bounded by the reader's limit).</summary>
    private async Task WriteDeflatedFramesAsync(HttpContext http, string path, List<int> frames, List<WadoAcceptEntry> accept, CancellationToken ct)
    {
        using var file = DicomFile.Open(path);
        DicomPixelData px;
        try { px = DicomPixelData.Create(file.Dataset); }
        catch (DicomPixelDataException) { throw new WadoException(404, "the instance has no usable pixel data"); }
        if (px.BitsAllocated == 1) throw new WadoException(406, "1-bit frames of a deflated data set are not served");
        foreach (var f in frames) if (f >= px.NumberOfFrames) throw new WadoException(404, $"frame {f + 1} does not exist: the instance has {px.NumberOfFrames}");
        var format = NegotiateFrames(accept, WadoAccept.ExplicitVRLittleEndian, encapsulated: false);
        var boundary = NewBoundary();
        http.Response.StatusCode = 200;
        http.Response.ContentType = $"multipart/related; type=\"{format.MultipartType}\"; boundary={boundary}";
        foreach (var f in frames)
        {
            var bytes = px.GetNativeFrame(f);
            await WritePartHeaderAsync(http.Response.Body, boundary, format.PartContentType, bytes.Length, ct).ConfigureAwait(false);
            await http.Response.Body.WriteAsync(bytes, ct).ConfigureAwait(false);
            await http.Response.Body.WriteAsync("\r\n"u8.ToArray(), ct).ConfigureAwait(false);
        }
        await WriteCloseAsync(http.Response.Body, boundary, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ bulk data

    /// <summary>The targets of the BulkDataURIs of <see cref="WriteMetadataAsync"/>: the top-level pixel data (native: the
    /// whole value; compressed: one part per frame, as stored) or an element of the header by its tag path
    /// ("00540016/0/00181072").</summary>
    public async Task WriteBulkDataAsync(HttpContext http, InstanceRecord r, string bulkPath, List<WadoAcceptEntry> accept, CancellationToken ct)
    {
        var segments = bulkPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0 || segments.Length % 2 == 0) throw new DicomWebBadRequestException("a bulk data path is TAG or TAG/INDEX/TAG...");
        var local = await CheckoutAsync(r, ct).ConfigureAwait(false);
        await using (local.ConfigureAwait(false)) await WriteBulkDataAsync(http, local.Paths[0], segments, accept, ct).ConfigureAwait(false);
    }

    private async Task WriteBulkDataAsync(HttpContext http, string path, string[] segments, List<WadoAcceptEntry> accept, CancellationToken ct)
    {
        using var header = OpenHeader(path);
        if (segments.Length == 1 && Tag(segments[0]) is var top && (top == DicomTags.PixelData || top.Value is 0x7FE00008 or 0x7FE00009)
            && header.PixelDataOffset >= 0 && !header.TransferSyntax.IsDeflated)
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            var px = WadoPixelData.Locate(handle, header.Dataset, header.TransferSyntax, header.PixelDataOffset);
            if (px is null || px.Tag != top) throw new WadoException(404, "no such bulk data");
            if (px.IsEncapsulated)
            {
                await WriteFramesAsync(http, path, [.. Enumerable.Range(0, px.NumberOfFrames)], accept, ct).ConfigureAwait(false);
                return;
            }
            CheckOctetStream(accept);
            await WriteSinglePartAsync(http, px.Value.Length, async body => await CopyRangeAsync(handle, px.Value, body, SwapUnit(header.TransferSyntax, px), ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return;
        }
        // An element of the header (deflated files: the whole data set is in memory anyway).
        DicomFile source = header.TransferSyntax.IsDeflated ? DicomFile.Open(path) : header;
        try
        {
            var ds = source.Dataset;
            for (int i = 0; i < segments.Length - 1; i += 2)
            {
                if (!int.TryParse(segments[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                    throw new DicomWebBadRequestException("a bulk data path is TAG or TAG/INDEX/TAG...");
                if (ds.GetSequence(Tag(segments[i])) is not { } sq || index >= sq.Items.Count) throw new WadoException(404, "no such bulk data");
                ds = sq.Items[index];
            }
            if (ds.GetElement(Tag(segments[^1])) is not { } e) throw new WadoException(404, "no such bulk data");
            CheckOctetStream(accept);
            var data = e.Data; // values are little-endian in memory whatever the stored byte order
            await WriteSinglePartAsync(http, data.Length, async body => await body.WriteAsync(data, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        finally
        {
            if (!ReferenceEquals(source, header)) source.Dispose();
        }
    }

    private static DicomTag Tag(string s) =>
        s.Length == 8 && uint.TryParse(s, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? new DicomTag(v) : throw new DicomWebBadRequestException("a bulk data path names tags as 8 hexadecimal digits");

    private static void CheckOctetStream(List<WadoAcceptEntry> accept)
    {
        foreach (var e in accept)
            if (WadoAccept.AcceptsMultipart(e, "application/octet-stream", partTypeIsDefault: true) && e.TransferSyntax is null or "*" or WadoAccept.ExplicitVRLittleEndian) return;
        throw new WadoException(406, "bulk data is served as multipart/related; type=\"application/octet-stream\"");
    }

    private static async Task WriteSinglePartAsync(HttpContext http, long length, Func<Stream, Task> write, CancellationToken ct)
    {
        var boundary = NewBoundary();
        http.Response.StatusCode = 200;
        http.Response.ContentType = $"multipart/related; type=\"application/octet-stream\"; boundary={boundary}";
        await WritePartHeaderAsync(http.Response.Body, boundary, $"application/octet-stream; transfer-syntax={WadoAccept.ExplicitVRLittleEndian}", length, ct).ConfigureAwait(false);
        await write(http.Response.Body).ConfigureAwait(false);
        await http.Response.Body.WriteAsync("\r\n"u8.ToArray(), ct).ConfigureAwait(false);
        await WriteCloseAsync(http.Response.Body, boundary, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ plumbing

    private DicomFile OpenHeader(string path)
    {
        try
        {
            return DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new WadoException(404, "the instance file is missing from the store");
        }
        catch (DicomFormatException ex)
        {
            logger.LogWarning("WADO-RS: a stored instance cannot be parsed");
            logger.LogDebug(ex, "stored instance parse failure");
            throw new WadoException(500, "the stored instance is damaged");
        }
    }

    private static string NewBoundary() => "qc-" + Guid.NewGuid().ToString("N");

    private static async Task WritePartHeaderAsync(Stream body, string boundary, string contentType, long length, CancellationToken ct)
    {
        var text = $"--{boundary}\r\nContent-Type: {contentType}\r\nContent-Length: {length.ToString(System.Globalization.CultureInfo.InvariantCulture)}\r\n\r\n";
        await body.WriteAsync(Encoding.ASCII.GetBytes(text), ct).ConfigureAwait(false);
    }

    private static async Task WriteCloseAsync(Stream body, string boundary, CancellationToken ct) =>
        await body.WriteAsync(Encoding.ASCII.GetBytes($"--{boundary}--\r\n"), ct).ConfigureAwait(false);

    /// <summary>Copies a range of the file to the response in 64 KiB pieces, swapping each <paramref name="swapUnit"/>-byte word when it is above 1.</summary>
    private static async Task CopyRangeAsync(SafeFileHandle handle, FileRange range, Stream body, int swapUnit, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBuffer);
        try
        {
            long pos = range.Offset, left = range.Length;
            while (left > 0)
            {
                int want = (int)Math.Min(left, CopyBuffer);
                int got = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, want), pos, ct).ConfigureAwait(false);
                if (got <= 0) throw new IOException("the stored file became shorter while it was read");
                if (swapUnit > 1)
                {
                    // Word boundaries: CopyBuffer is a multiple of 8 and every read but the last returns whole pieces.
                    var span = buffer.AsSpan(0, got - got % swapUnit);
                    if (swapUnit == 2) BinaryPrimitives.ReverseEndianness(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(span), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(span));
                    else if (swapUnit == 4) BinaryPrimitives.ReverseEndianness(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(span), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(span));
                    else BinaryPrimitives.ReverseEndianness(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(span), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(span));
                }
                await body.WriteAsync(buffer.AsMemory(0, got), ct).ConfigureAwait(false);
                pos += got;
                left -= got;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
