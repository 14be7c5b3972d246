using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace QcPipeline.Dicom.IO;

/// <summary>Writes datasets and Part 10 files in any uncompressed transfer syntax (PS3.5 §7, PS3.10 §7).
/// Sequences and items are written with undefined length; values of odd length get the VR's padding byte.</summary>
public static class DicomWriter
{
    private const uint UndefinedLength = 0xFFFFFFFF;

    public static void WriteFile(Stream stream, DicomFile file, TransferSyntax ts, DicomWriteOptions options)
    {
        CheckPixelEncoding(file.Dataset, ts);
        if (options.WritePreamble)
        {
            Span<byte> preamble = stackalloc byte[132];
            preamble.Clear();
            "DICM"u8.CopyTo(preamble[128..]);
            stream.Write(preamble);
        }
        if (options.WriteFileMeta)
        {
            var meta = BuildFileMeta(file.FileMetaInformation, file.Dataset, ts);
            WriteDataset(stream, meta, TransferSyntax.ExplicitVRLittleEndian, options with { KeepGroupLengths = true });
        }
        WriteDatasetBody(stream, file.Dataset, ts, options);
    }

    /// <summary>Writes a dataset without meta in <paramref name="ts"/> (deflating for the deflated syntax).</summary>
    public static void WriteDatasetBody(Stream stream, DicomDataset dataset, TransferSyntax ts, DicomWriteOptions options)
    {
        if (ts.IsDeflated)
        {
            // Raw deflate (RFC 1951) without zlib header, PS3.5 §A.5.
            using var deflate = new DeflateStream(stream, options.DeflateLevel, leaveOpen: true);
            using var buffered = new BufferedStream(deflate, 64 * 1024);
            WriteDataset(buffered, dataset, TransferSyntax.ExplicitVRLittleEndian, options);
            buffered.Flush();
        }
        else
        {
            WriteDataset(stream, dataset, ts, options);
        }
    }

    /// <summary>Builds group 0002 (PS3.10 §7.1): group length, version, SOP class/instance from the dataset,
    /// the transfer syntax, our implementation identity, and whatever else the old meta carried (e.g. Source AE).</summary>
    public static DicomDataset BuildFileMeta(DicomDataset? previous, DicomDataset dataset, TransferSyntax ts)
    {
        var meta = new DicomDataset();
        meta.AddOrUpdate(new DicomElement(new DicomTag(0x00020001), DicomVR.OB, new byte[] { 0, 1 }));
        var sopClass = dataset.GetString(new DicomTag(0x00080016)) ?? previous?.GetString(new DicomTag(0x00020002)) ?? "";
        var sopInstance = dataset.GetString(new DicomTag(0x00080018)) ?? previous?.GetString(new DicomTag(0x00020003)) ?? "";
        meta.AddOrUpdate(new DicomTag(0x00020002), DicomVR.UI, sopClass);
        meta.AddOrUpdate(new DicomTag(0x00020003), DicomVR.UI, sopInstance);
        meta.AddOrUpdate(new DicomTag(0x00020010), DicomVR.UI, ts.Uid);
        meta.AddOrUpdate(new DicomTag(0x00020012), DicomVR.UI, DicomImplementation.ClassUid);
        meta.AddOrUpdate(new DicomTag(0x00020013), DicomVR.SH, DicomImplementation.VersionName);
        if (previous is not null)
        {
            foreach (var item in previous)
            {
                uint t = item.Tag.Value;
                if (t is 0x00020016 or 0x00020017 or 0x00020018 or 0x00020026 or 0x00020027 or 0x00020028 or 0x00020100 or 0x00020102
                    || (item.Tag.IsPrivate && item.Tag.Group == 0x0002))
                    meta.AddOrUpdate(item);
            }
        }
        // (0002,0000) is the byte count of the rest of the group.
        long len = 0;
        foreach (var item in meta) len += EncodedLength(item, explicitVR: true);
        meta.AddOrUpdate(new DicomTag(0x00020000), DicomVR.UL, checked((uint)len));
        return meta;
    }

    private static long EncodedLength(DicomItem item, bool explicitVR)
    {
        if (item is not DicomElement e) throw new InvalidOperationException("meta items must be plain elements");
        long valueLength = e.Length + (e.Length & 1);
        int header = explicitVR && !e.VR.HasLongLength() && valueLength <= ushort.MaxValue ? 8 : (explicitVR ? 12 : 8);
        return header + valueLength;
    }

    private static void CheckPixelEncoding(DicomDataset ds, TransferSyntax ts)
    {
        var pixel = ds[new DicomTag(0x7FE00010)];
        if (pixel is DicomFragmentSequence && !ts.IsEncapsulated)
            throw new InvalidOperationException($"the pixel data is encapsulated; decompress it before writing {ts.Name}");
        if (pixel is DicomElement && ts.IsEncapsulated)
            throw new InvalidOperationException($"the pixel data is native; compress it before writing {ts.Name}");
    }

    public static void WriteDataset(Stream stream, DicomDataset dataset, TransferSyntax ts, DicomWriteOptions options)
    {
        var w = new Writer(stream, ts.IsExplicitVR, ts.IsLittleEndian, options.KeepGroupLengths);
        w.Dataset(dataset);
    }

    private readonly struct Writer(Stream stream, bool explicitVR, bool little, bool keepGroupLengths)
    {
        public void Dataset(DicomDataset ds)
        {
            foreach (var item in ds)
            {
                if (item.Tag.IsGroupLength && !keepGroupLengths && item.Tag.Group != 0x0002) continue;
                switch (item)
                {
                    case DicomElement e: Element(e); break;
                    case DicomSequence sq: Sequence(sq); break;
                    case DicomFragmentSequence f: Fragments(f); break;
                }
            }
        }

        private void Element(DicomElement e)
        {
            var data = e.Data.Span;
            int padded = data.Length + (data.Length & 1);
            var vr = e.VR;
            int unit = vr.BinaryUnitSize(); // of the value's own VR, even when it is written as UN below
            if (explicitVR && !vr.HasLongLength() && padded > ushort.MaxValue) vr = DicomVR.UN; // PS3.5 §6.2.2: too long for a 16-bit length
            Header(e.Tag, vr, (uint)padded);
            if (!little && unit > 1 && data.Length > 0)
            {
                var copy = data.ToArray();
                DatasetParser.SwapInPlace(copy, unit);
                stream.Write(copy);
            }
            else
            {
                stream.Write(data);
            }
            if ((data.Length & 1) == 1) stream.WriteByte(e.VR.PaddingByte());
        }

        private void Sequence(DicomSequence sq)
        {
            Header(sq.Tag, DicomVR.SQ, UndefinedLength);
            foreach (var item in sq.Items)
            {
                Delimiter(DicomTag.Item, UndefinedLength);
                Dataset(item);
                Delimiter(DicomTag.ItemDelimitationItem, 0);
            }
            Delimiter(DicomTag.SequenceDelimitationItem, 0);
        }

        private void Fragments(DicomFragmentSequence f)
        {
            Header(f.Tag, DicomVR.OB, UndefinedLength); // PS3.5 §A.4: encapsulated pixel data is OB
            Delimiter(DicomTag.Item, (uint)f.OffsetTable.Length);
            stream.Write(f.OffsetTable.Span);
            foreach (var frag in f.Fragments)
            {
                int padded = frag.Length + (frag.Length & 1);
                Delimiter(DicomTag.Item, (uint)padded);
                stream.Write(frag.Span);
                if ((frag.Length & 1) == 1) stream.WriteByte(0);
            }
            Delimiter(DicomTag.SequenceDelimitationItem, 0);
        }

        private void Delimiter(DicomTag tag, uint length)
        {
            Span<byte> h = stackalloc byte[8];
            WriteTag(h, tag);
            if (little) BinaryPrimitives.WriteUInt32LittleEndian(h[4..], length); else BinaryPrimitives.WriteUInt32BigEndian(h[4..], length);
            stream.Write(h);
        }

        private void WriteTag(Span<byte> h, DicomTag tag)
        {
            if (little) { BinaryPrimitives.WriteUInt16LittleEndian(h, tag.Group); BinaryPrimitives.WriteUInt16LittleEndian(h[2..], tag.Element); }
            else { BinaryPrimitives.WriteUInt16BigEndian(h, tag.Group); BinaryPrimitives.WriteUInt16BigEndian(h[2..], tag.Element); }
        }

        private void Header(DicomTag tag, DicomVR vr, uint length)
        {
            Span<byte> h = stackalloc byte[12];
            WriteTag(h, tag);
            if (!explicitVR)
            {
                if (little) BinaryPrimitives.WriteUInt32LittleEndian(h[4..], length); else BinaryPrimitives.WriteUInt32BigEndian(h[4..], length);
                stream.Write(h[..8]);
                return;
            }
            h[4] = (byte)((ushort)vr >> 8);
            h[5] = (byte)vr;
            if (vr.HasLongLength())
            {
                h[6] = 0; h[7] = 0;
                if (little) BinaryPrimitives.WriteUInt32LittleEndian(h[8..], length); else BinaryPrimitives.WriteUInt32BigEndian(h[8..], length);
                stream.Write(h);
            }
            else
            {
                if (little) BinaryPrimitives.WriteUInt16LittleEndian(h[6..], (ushort)length); else BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)length);
                stream.Write(h[..8]);
            }
        }
    }

    internal static string Ascii(ReadOnlySpan<byte> b) => Encoding.ASCII.GetString(b);
}
