using System.Buffers.Binary;
using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Tests.Bugs;

/// <summary>Regressions for the findings of a code review (each failed, or was quadratic, before its fix).</summary>
public class ReviewFindingsTests
{
    /// <summary>Implicit VR LE elements of zero length, tags in descending order: inserting each in place was O(n²).</summary>
    [Fact]
    public void Many_out_of_order_elements_are_sorted_once_and_the_last_duplicate_wins()
    {
        const int n = 200_000;
        var bytes = new byte[(n + 1) * 8 + 10];
        int pos = 0;
        for (int i = n; i > 0; i--)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(pos), 0x0009); // private group: VR UN
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(pos + 2), (ushort)(0x1000 + (i % 60000)));
            pos += 8; // zero length
        }
        // A duplicate of (0008,0060) Modality: "CT" first, then "MR" — the last one read wins.
        var tail = new byte[] { 0x08, 0, 0x60, 0, 2, 0, 0, 0, (byte)'C', (byte)'T', 0x08, 0, 0x60, 0, 2, 0, 0, 0, (byte)'M', (byte)'R' };
        Array.Resize(ref bytes, pos + tail.Length);
        tail.CopyTo(bytes, pos);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var f = DicomFile.Read(bytes);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        Assert.Equal("MR", f.Dataset.GetString(new DicomTag(0x00080060)));
        var tags = f.Dataset.Select(i => i.Tag.Value).ToArray();
        Assert.Equal(tags.OrderBy(t => t).Distinct(), tags);
    }

    [Fact]
    public void A_long_US_value_written_as_UN_in_big_endian_is_still_byte_swapped()
    {
        var ds = new DicomDataset();
        var values = Enumerable.Range(0, 40_000).Select(i => (ushort)i).ToArray(); // 80,000 bytes: too long for a 16-bit length
        ds.AddOrUpdate(new DicomTag(0x00091010), DicomVR.US, values);
        using var ms = new MemoryStream();
        DicomWriter.WriteDataset(ms, ds, TransferSyntax.ExplicitVRBigEndian, DicomWriteOptions.Default);
        var written = ms.ToArray();
        Assert.Equal("UN", System.Text.Encoding.ASCII.GetString(written, 4, 2));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(written.AsSpan(12 + 2)));
    }

    private static DicomDataset Image(int rows, int cols, int bits, int frames = 1)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomTag(0x00280002), DicomVR.US, (ushort)1);
        ds.AddOrUpdate(new DicomTag(0x00280004), DicomVR.CS, "MONOCHROME2");
        ds.AddOrUpdate(new DicomTag(0x00280008), DicomVR.IS, frames.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ds.AddOrUpdate(new DicomTag(0x00280010), DicomVR.US, (ushort)rows);
        ds.AddOrUpdate(new DicomTag(0x00280011), DicomVR.US, (ushort)cols);
        ds.AddOrUpdate(new DicomTag(0x00280100), DicomVR.US, (ushort)bits);
        ds.AddOrUpdate(new DicomTag(0x00280101), DicomVR.US, (ushort)bits);
        ds.AddOrUpdate(new DicomTag(0x00280102), DicomVR.US, (ushort)(bits - 1));
        ds.AddOrUpdate(new DicomTag(0x00280103), DicomVR.US, (ushort)0);
        return ds;
    }

    [Fact]
    public void One_bit_data_is_refused_by_the_transcoder_not_crashed_on()
    {
        var ds = Image(1, 8, 1);
        ds.AddOrUpdate(new DicomTag(0x7FE00010), DicomVR.OB, new byte[] { 0xA5, 0 });
        var file = new DicomFile(ds);
        Assert.Throws<NotSupportedException>(() => DicomTranscoder.Transcode(file, TransferSyntax.RleLossless));
    }

    [Fact]
    public void Header_sizes_that_cannot_be_held_or_frames_beyond_the_fragments_are_pixel_data_errors()
    {
        var huge = Image(65535, 65535, 16);
        huge.AddOrUpdate(new DicomFragmentSequence(new DicomTag(0x7FE00010), DicomVR.OB, ReadOnlyMemory<byte>.Empty, [new byte[4]]));
        Assert.Throws<DicomPixelDataException>(() => DicomPixelData.Create(huge));

        var frames = Image(2, 2, 16, frames: 1_000_000);
        frames.AddOrUpdate(new DicomFragmentSequence(new DicomTag(0x7FE00010), DicomVR.OB, ReadOnlyMemory<byte>.Empty, [new byte[4], new byte[4]]));
        Assert.Throws<DicomPixelDataException>(() => DicomPixelData.Create(frames));

        var planar = Image(2, 2, 8);
        planar.AddOrUpdate(new DicomTag(0x00280006), DicomVR.US, (ushort)2);
        planar.AddOrUpdate(new DicomTag(0x7FE00010), DicomVR.OB, new byte[4]);
        Assert.Throws<DicomPixelDataException>(() => DicomPixelData.Create(planar));
    }

    [Fact]
    public void Offset_tables_that_do_not_increase_are_pixel_data_errors()
    {
        var ds = Image(1, 1, 8, frames: 2);
        var bot = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(bot.AsSpan(0), 12); // frame 0 at the second fragment
        BinaryPrimitives.WriteUInt32LittleEndian(bot.AsSpan(4), 0);  // frame 1 before it
        ds.AddOrUpdate(new DicomFragmentSequence(new DicomTag(0x7FE00010), DicomVR.OB, bot, [new byte[4], new byte[4]]));
        var p = DicomPixelData.Create(ds);
        Assert.Throws<DicomPixelDataException>(() => p.GetEncapsulatedFrame(0));
    }

    [Fact]
    public void ReadAsync_of_a_seekable_stream_allocates_about_the_file_once()
    {
        var big = new DicomDataset();
        big.AddOrUpdate(new DicomTag(0x00080016), DicomVR.UI, "1.2.840.10008.5.1.4.1.1.7");
        big.AddOrUpdate(new DicomTag(0x00080018), DicomVR.UI, "1.2.3");
        big.AddOrUpdate(new DicomTag(0x00091010), DicomVR.OB, new byte[1 << 20]);
        var bytes = new DicomFile(big).ToBytes(); // a 1 MiB value: the buffer dominates
        using var ms = new MemoryStream(bytes);
        DicomFile.Read(new MemoryStream(bytes)).Dispose(); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var f = DicomFile.Read(ms);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < bytes.Length * 1.5, $"allocated {allocated} bytes for a {bytes.Length}-byte file");
    }
}
