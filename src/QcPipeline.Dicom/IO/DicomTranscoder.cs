using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.Imaging.Codecs;

namespace QcPipeline.Dicom.IO;

/// <summary>Changes a file's transfer syntax. Between native syntaxes only the encoding changes (the writer does it);
/// encapsulated pixel data is decoded to native (lossless syntaxes give the exact samples back) and can be
/// encoded as RLE Lossless.</summary>
public static class DicomTranscoder
{
    private static readonly DicomTag PixelDataTag = new(0x7FE00010);

    /// <summary>A new file whose dataset is in <paramref name="target"/>; the source is left unchanged.</summary>
    public static DicomFile Transcode(DicomFile source, TransferSyntax target, PixelCodecRegistry? codecs = null)
    {
        var ds = source.Dataset.Clone();
        var pixel = ds[PixelDataTag];
        bool sourceEncapsulated = pixel is DicomFragmentSequence;
        if (pixel is not null && (sourceEncapsulated || target.IsEncapsulated) && source.TransferSyntax != target)
        {
            if (target.IsEncapsulated && target != TransferSyntax.RleLossless)
                throw new NotSupportedException($"encoding to {target.Name} is not supported; the writable syntaxes are the native ones and RLE Lossless");
            var p = DicomPixelData.Create(ds);
            if (p.BitsAllocated == 1) throw new NotSupportedException("1-bit pixel data is not transcoded between native and encapsulated form");
            var native = new byte[checked(p.FrameSize * p.NumberOfFrames)];
            for (int f = 0; f < p.NumberOfFrames; f++)
                p.GetFrame(f, source.TransferSyntax, codecs).Span.CopyTo(native.AsSpan((int)(f * p.FrameSize)));
            if (sourceEncapsulated) AfterDecompression(ds, source.TransferSyntax);
            if (target == TransferSyntax.RleLossless)
            {
                var info = new FrameInfo(p.Rows, p.Columns, p.SamplesPerPixel, p.BitsAllocated, p.BitsStored, p.IsSigned, p.PlanarConfiguration);
                var frames = new List<ReadOnlyMemory<byte>>(p.NumberOfFrames);
                var table = new byte[4 * p.NumberOfFrames];
                uint offset = 0;
                for (int f = 0; f < p.NumberOfFrames; f++)
                {
                    var encoded = RleCodec.Encode(native.AsSpan((int)(f * p.FrameSize), (int)p.FrameSize), info);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4 * f), offset);
                    offset += 8 + (uint)(encoded.Length + (encoded.Length & 1));
                    frames.Add(encoded);
                }
                ds.AddOrUpdate(new DicomFragmentSequence(PixelDataTag, DicomVR.OB, table, frames));
            }
            else
            {
                ds.AddOrUpdate(new DicomElement(PixelDataTag, p.BitsAllocated > 8 ? DicomVR.OW : DicomVR.OB, native));
            }
        }
        return new DicomFile(ds, source.FileMetaInformation, target);
    }

    /// <summary>Attributes that described the compressed form (PS3.3 C.7.6.3.1.2, C.7.6.1.1.5).</summary>
    private static void AfterDecompression(DicomDataset ds, TransferSyntax from)
    {
        var photometric = ds.GetString(new DicomTag(0x00280004));
        // J2K's reversible/irreversible colour transforms are undone by the decoder: the samples are RGB again.
        if (photometric is "YBR_RCT" or "YBR_ICT") ds.AddOrUpdate(new DicomTag(0x00280004), DicomVR.CS, "RGB");
        ds.Remove(new DicomTag(0x7FE00001)); // Extended Offset Table
        ds.Remove(new DicomTag(0x7FE00002)); // Extended Offset Table Lengths
        if (from.IsLossy)
        {
            // Lossy data stays marked as such once decompressed (PS3.3 C.7.6.1.1.5).
            ds.AddOrUpdate(new DicomTag(0x00282110), DicomVR.CS, "01");
        }
    }
}
