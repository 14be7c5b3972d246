using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom;

/// <summary>A DICOM file (PS3.10): optional preamble, File Meta Information (group 0002) and the dataset.
/// Also reads bare datasets without preamble or meta, as DCMTK does, by recognising their encoding.</summary>
public sealed class DicomFile : IDisposable
{
    private byte[]? _rented;

    public DicomFile(DicomDataset dataset, DicomDataset? fileMetaInformation = null, TransferSyntax? transferSyntax = null)
    {
        Dataset = dataset;
        FileMetaInformation = fileMetaInformation ?? new DicomDataset();
        TransferSyntax = transferSyntax ?? TransferSyntax.ExplicitVRLittleEndian;
    }

    public DicomDataset FileMetaInformation { get; }
    public DicomDataset Dataset { get; }
    /// <summary>The syntax the dataset was read in (or is to be written in).</summary>
    public TransferSyntax TransferSyntax { get; set; }
    /// <summary>The input had the 128-byte preamble and "DICM" prefix.</summary>
    public bool HadPreamble { get; private set; }
    /// <summary>The input had File Meta Information (group 0002).</summary>
    public bool HadFileMeta { get; private set; }
    /// <summary>Header-only reads: offset of the Pixel Data element header in the file, else -1.</summary>
    public long PixelDataOffset { get; private set; } = -1;
    /// <summary>Offset of the first byte of the data set (after preamble and File Meta Information) in the input.</summary>
    public long DatasetOffset { get; private set; }

    // ------------------------------------------------------------------ reading

    /// <summary>Reads a file. Header-only reading (<see cref="DicomReadOptions.HeaderOnly"/>) reads just the bytes
    /// before the pixel data.</summary>
    public static DicomFile Open(string path, DicomReadOptions? options = null)
    {
        options ??= DicomReadOptions.Default;
        // A bare handle and positional reads: no FileStream, strategy or buffer objects for what is one or two reads.
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = RandomAccess.GetLength(handle);
        if (options.StopBeforePixelData) return ReadHeaderFromHandle(handle, fileLength, options);
        if (fileLength > Array.MaxLength) throw new DicomFormatException($"file of {fileLength} bytes is too large to read whole; read it header-only");
        int n = (int)fileLength;
        byte[] buffer = options.UsePooledBuffer ? ArrayPool<byte>.Shared.Rent(Math.Max(n, 1)) : GC.AllocateUninitializedArray<byte>(n);
        try
        {
            ReadExactly(handle, buffer, 0, n);
            var file = Parse(buffer, n, partial: false, options);
            if (options.UsePooledBuffer) file._rented = buffer;
            return file;
        }
        catch
        {
            if (options.UsePooledBuffer) ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public static async Task<DicomFile> OpenAsync(string path, DicomReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous);
        return await ReadAsync(fs, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads from a stream to its end (or, header-only, to the pixel data).</summary>
    public static async Task<DicomFile> ReadAsync(Stream stream, DicomReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= DicomReadOptions.Default;
        byte[] buffer = new byte[options.StopBeforePixelData ? 16 * 1024 : (stream.CanSeek ? (int)Math.Min(Math.Max(stream.Length - stream.Position, 0), Array.MaxLength) : 64 * 1024)];
        int filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                // A seekable stream read to its known end needs no larger buffer: parse what we have.
                if (!options.StopBeforePixelData && stream.CanSeek && stream.Position >= stream.Length)
                    return Parse(buffer, filled, partial: false, options);
                if (buffer.Length >= Array.MaxLength) throw new DicomFormatException("stream is too large to read whole");
                // Header-only re-parses the prefix after each growth: grow 4x so the wasted parses stay a third of the last.
                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * (options.StopBeforePixelData ? 4 : 2) + 1024, Array.MaxLength));
            }
            int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            bool ended = read == 0;
            filled += read;
            if (options.StopBeforePixelData && (ended || filled == buffer.Length))
            {
                try { return Parse(buffer, filled, partial: !ended, options); }
                catch (DatasetParser.NeedMoreDataException) { /* read more */ }
            }
            if (ended) return Parse(buffer, filled, partial: false, options);
        }
    }

    /// <summary>Parses bytes already in memory. The elements refer to <paramref name="data"/>: do not change it afterwards.</summary>
    public static DicomFile Read(byte[] data, DicomReadOptions? options = null) => Parse(data, data.Length, partial: false, options ?? DicomReadOptions.Default);

    public static DicomFile Read(Stream stream, DicomReadOptions? options = null) => ReadAsync(stream, options).GetAwaiter().GetResult();

    private static void ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, byte[] buffer, int from, int to)
    {
        while (from < to)
        {
            int r = RandomAccess.Read(handle, buffer.AsSpan(from, to - from), from);
            if (r == 0) throw new EndOfStreamException("the file became shorter while it was read");
            from += r;
        }
    }

    private static DicomFile ReadHeaderFromHandle(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long fileLength, DicomReadOptions options)
    {
        // Read a prefix, parse; if the header is longer than the prefix, read twice as much and parse again.
        int chunk = (int)Math.Min(fileLength, 8 * 1024);
        byte[] pooled = ArrayPool<byte>.Shared.Rent(Math.Max(chunk, 1));
        try
        {
            int filled = 0;
            while (true)
            {
                int want = (int)Math.Min(fileLength, chunk);
                if (pooled.Length < want)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(want);
                    Buffer.BlockCopy(pooled, 0, bigger, 0, filled);
                    ArrayPool<byte>.Shared.Return(pooled);
                    pooled = bigger;
                }
                while (filled < want)
                {
                    int r = RandomAccess.Read(handle, pooled.AsSpan(filled, want - filled), filled);
                    if (r == 0) break;
                    filled += r;
                }
                bool partial = filled < fileLength;
                try
                {
                    var file = Parse(pooled, filled, partial, options);
                    // Move what the elements refer to out of the pooled buffer into an array of exactly the header's size.
                    int used = file.PixelDataOffset >= 0 ? (int)file.PixelDataOffset : filled;
                    var owned = GC.AllocateUninitializedArray<byte>(used);
                    Buffer.BlockCopy(pooled, 0, owned, 0, used);
                    Rebase(file.FileMetaInformation, pooled, owned);
                    Rebase(file.Dataset, pooled, owned);
                    return file;
                }
                catch (DatasetParser.NeedMoreDataException)
                {
                    if (!partial) throw new DicomFormatException("unexpected end of data");
                    // Grow 4x (each growth re-parses the prefix), never past the file or the largest array.
                    long next = Math.Min(Math.Min((long)chunk * 4, fileLength), Array.MaxLength);
                    if (next <= chunk) throw new DicomFormatException($"header longer than {chunk} bytes: read this file whole or not at all");
                    chunk = (int)next;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pooled);
        }
    }

    private static void Rebase(DicomDataset ds, byte[] from, byte[] to)
    {
        foreach (var item in ds)
        {
            switch (item)
            {
                case DicomElement e:
                    e.Data = Rebase(e.Data, from, to);
                    break;
                case DicomSequence sq:
                    foreach (var child in sq.Items) Rebase(child, from, to);
                    break;
                case DicomFragmentSequence f:
                    // Encapsulated Pixel Data nested in a sequence item (the top-level one stops a header-only read).
                    f.OffsetTable = Rebase(f.OffsetTable, from, to);
                    for (int i = 0; i < f.Fragments.Count; i++) f.Fragments[i] = Rebase(f.Fragments[i], from, to);
                    break;
            }
        }
    }

    private static ReadOnlyMemory<byte> Rebase(ReadOnlyMemory<byte> data, byte[] from, byte[] to) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var seg) && ReferenceEquals(seg.Array, from)
            ? new ReadOnlyMemory<byte>(to, seg.Offset, seg.Count)
            : data;

    private static readonly byte[] Dicm = "DICM"u8.ToArray();

    private static DicomFile Parse(byte[] buffer, int length, bool partial, DicomReadOptions options)
    {
        var meta = new DicomDataset();
        int pos = 0;
        bool hadPreamble = false, hadMeta = false;
        if (length >= 132 && buffer.AsSpan(128, 4).SequenceEqual(Dicm)) { pos = 132; hadPreamble = true; }
        else if (partial && length < 132) throw new DatasetParser.NeedMoreDataException();
        else if (length >= 4 && buffer.AsSpan(0, 4).SequenceEqual(Dicm)) pos = 4; // "DICM" without preamble

        var parser = new DatasetParser(buffer, length, partial, options);
        if (LooksLikeMetaGroup(buffer, pos, length))
        {
            pos = parser.ParseFileMeta(meta, pos);
            hadMeta = meta.Count > 0;
        }
        else if (hadPreamble && length - pos >= 8 && BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(pos)) == 0x0002)
        {
            throw new DicomFormatException(new DicomTag(0x0002, BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(pos + 2))), pos, "File Meta Information is not in explicit VR little endian");
        }

        TransferSyntax ts;
        var tsUid = meta.GetString(new DicomTag(0x00020010));
        if (!string.IsNullOrEmpty(tsUid))
        {
            ts = TransferSyntax.Lookup(tsUid);
            // Guard against a meta header that names the wrong VR encoding: check the first dataset element.
            if (!ts.IsDeflated && Detect(buffer, pos, length) is { } seen && seen.IsLittleEndian == ts.IsLittleEndian && seen.IsExplicitVR != ts.IsExplicitVR && !ts.IsEncapsulated)
                ts = seen;
        }
        else
        {
            ts = Detect(buffer, pos, length) ?? TransferSyntax.ImplicitVRLittleEndian;
        }

        var dataset = new DicomDataset(128) { FallbackEncoding = options.FallbackEncoding };
        var file = new DicomFile(dataset, meta, ts) { HadPreamble = hadPreamble, HadFileMeta = hadMeta, DatasetOffset = pos };
        if (ts.IsDeflated)
        {
            if (partial) { /* must inflate everything anyway */ throw new DatasetParser.NeedMoreDataException(); }
            var inflated = Inflate(buffer, pos, length, options.MaxInflatedBytes);
            var inner = new DatasetParser(inflated, inflated.Length, false, options);
            inner.ParseTopLevel(dataset, 0, explicitVR: true, littleEndian: true);
            file.PixelDataOffset = -1;
            return file;
        }
        parser.ParseTopLevel(dataset, pos, ts.IsExplicitVR, ts.IsLittleEndian);
        file.PixelDataOffset = parser.PixelDataOffset;
        return file;
    }

    private static bool LooksLikeMetaGroup(byte[] b, int pos, int length) =>
        length - pos >= 8 && b[pos] == 0x02 && b[pos + 1] == 0x00 && DicomVRInfo.TryParse(b.AsSpan(pos + 4, 2), out _);

    /// <summary>Recognises the encoding of a bare dataset from its first element header.</summary>
    private static TransferSyntax? Detect(byte[] b, int pos, int length)
    {
        if (length - pos < 8) return null;
        ushort groupLE = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(pos));
        ushort groupBE = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(pos));
        bool vrOk = DicomVRInfo.TryParse(b.AsSpan(pos + 4, 2), out _);
        // Groups in a dataset start small (0008 etc.); a byte-swapped small group reads as a large one.
        bool little = groupLE <= 0x00FF || groupBE > 0x00FF && groupLE < groupBE;
        if (!little) return vrOk ? TransferSyntax.ExplicitVRBigEndian : null;
        return vrOk ? TransferSyntax.ExplicitVRLittleEndian : TransferSyntax.ImplicitVRLittleEndian;
    }

    private static byte[] Inflate(byte[] buffer, int pos, int length, long max)
    {
        using var input = new MemoryStream(buffer, pos, length - pos, writable: false);
        using var deflate = new DeflateStream(input, CompressionMode.Decompress);
        // Initial guess 4x the input, never beyond the limit (a small MaxInflatedBytes bounds what is allocated).
        var output = new MemoryStream((int)Math.Min(Math.Max(4096L, (length - pos) * 4L), Math.Min(max + 1, Array.MaxLength)));
        var chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                int r;
                try { r = deflate.Read(chunk, 0, chunk.Length); }
                catch (InvalidDataException ex) { throw new DicomFormatException(null, pos, "deflated dataset is corrupt", ex); }
                if (r == 0) break;
                if (output.Length + r > max) throw new DicomFormatException(null, pos, $"deflated dataset inflates beyond the {max}-byte limit");
                output.Write(chunk, 0, r);
            }
        }
        finally { ArrayPool<byte>.Shared.Return(chunk); }
        return output.Length == output.GetBuffer().Length ? output.GetBuffer() : output.ToArray();
    }

    // ------------------------------------------------------------------ writing

    /// <summary>Writes a Part 10 file: preamble, regenerated meta (PS3.10 §7.1) and the dataset in <paramref name="transferSyntax"/>.</summary>
    public void Save(string path, TransferSyntax? transferSyntax = null, DicomWriteOptions? options = null)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
        Save(fs, transferSyntax, options);
    }

    public void Save(Stream stream, TransferSyntax? transferSyntax = null, DicomWriteOptions? options = null) =>
        DicomWriter.WriteFile(stream, this, transferSyntax ?? TransferSyntax, options ?? DicomWriteOptions.Default);

    public byte[] ToBytes(TransferSyntax? transferSyntax = null, DicomWriteOptions? options = null)
    {
        using var ms = new MemoryStream();
        Save(ms, transferSyntax, options);
        return ms.ToArray();
    }

    public void Dispose()
    {
        var r = Interlocked.Exchange(ref _rented, null);
        if (r is not null) ArrayPool<byte>.Shared.Return(r);
    }

    internal static string AsciiOf(ReadOnlySpan<byte> b) => Encoding.ASCII.GetString(b);
}
