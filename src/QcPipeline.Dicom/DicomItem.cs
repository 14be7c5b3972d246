using System.Runtime.InteropServices;

namespace QcPipeline.Dicom;

/// <summary>One entry of a dataset: a value element, a sequence, or encapsulated pixel data.</summary>
public abstract class DicomItem
{
    protected DicomItem(DicomTag tag, DicomVR vr) { Tag = tag; VR = vr; }
    public DicomTag Tag { get; }
    public DicomVR VR { get; }
    public override string ToString() => $"{Tag} {VR.Code()}";
}

/// <summary>An element with a value. <see cref="Data"/> holds the raw value bytes as on the wire, with binary
/// values always in little-endian order (big-endian input is swapped on read, PS3.5 §7.3), including any
/// trailing padding byte.</summary>
public sealed class DicomElement : DicomItem
{
    public DicomElement(DicomTag tag, DicomVR vr, ReadOnlyMemory<byte> data) : base(tag, vr) { Data = data; }

    public ReadOnlyMemory<byte> Data { get; internal set; }
    public int Length => Data.Length;

    /// <summary>Where the value lives when it was read from DICOM JSON as a BulkDataURI without being fetched
    /// (PS3.18 F.2.6); the value is then empty. Null otherwise.</summary>
    public string? BulkDataUri { get; internal set; }

    /// <summary>The value as an array of a binary type, without copying (little-endian host assumed).</summary>
    public ReadOnlySpan<T> AsSpan<T>() where T : struct => MemoryMarshal.Cast<byte, T>(Data.Span);
}

/// <summary>A sequence of items (VR SQ; also UN of undefined length, which PS3.5 §6.2.2 says holds implicit VR LE).</summary>
public sealed class DicomSequence : DicomItem
{
    public DicomSequence(DicomTag tag, IEnumerable<DicomDataset>? items = null) : base(tag, DicomVR.SQ)
    {
        Items = items is null ? [] : [.. items];
    }

    public List<DicomDataset> Items { get; }
}

/// <summary>Encapsulated pixel data (PS3.5 §A.4): the Basic Offset Table item and the fragments, in order.</summary>
public sealed class DicomFragmentSequence : DicomItem
{
    public DicomFragmentSequence(DicomTag tag, DicomVR vr, ReadOnlyMemory<byte> offsetTable, IEnumerable<ReadOnlyMemory<byte>> fragments) : base(tag, vr)
    {
        OffsetTable = offsetTable;
        Fragments = [.. fragments];
    }

    /// <summary>Raw Basic Offset Table item value: empty, or one UL per frame.</summary>
    public ReadOnlyMemory<byte> OffsetTable { get; internal set; }
    public List<ReadOnlyMemory<byte>> Fragments { get; }
}
