using QcPipeline.Dicom.Imaging;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Tests.Imaging;

public class PixelDataTests
{
    private static readonly DicomTag PixelData = new(0x7FE00010);

    private static DicomDataset Image(int rows, int cols, int bitsAllocated, int bitsStored, int highBit, int pixelRep, string photometric = "MONOCHROME2", int frames = 1)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomTag(0x00280002), DicomVR.US, (ushort)1);
        ds.AddOrUpdate(new DicomTag(0x00280004), DicomVR.CS, photometric);
        if (frames > 1) ds.AddOrUpdate(new DicomTag(0x00280008), DicomVR.IS, frames.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ds.AddOrUpdate(new DicomTag(0x00280010), DicomVR.US, (ushort)rows);
        ds.AddOrUpdate(new DicomTag(0x00280011), DicomVR.US, (ushort)cols);
        ds.AddOrUpdate(new DicomTag(0x00280100), DicomVR.US, (ushort)bitsAllocated);
        ds.AddOrUpdate(new DicomTag(0x00280101), DicomVR.US, (ushort)bitsStored);
        ds.AddOrUpdate(new DicomTag(0x00280102), DicomVR.US, (ushort)highBit);
        ds.AddOrUpdate(new DicomTag(0x00280103), DicomVR.US, (ushort)pixelRep);
        return ds;
    }

    private static float[] Modality(DicomDataset ds, int frame = 0, bool normalize = true)
    {
        var p = DicomPixelData.Create(ds);
        var result = new float[p.Rows * p.Columns];
        p.ToModalityValues(p.GetNativeFrame(frame).Span, result, frame, normalize);
        return result;
    }

    [Fact]
    public void A_frame_read_into_a_reused_buffer_overwrites_every_value_and_matches_a_fresh_read()
    {
        var ds = Image(2, 3, 16, 12, 11, 1);
        ds.AddOrUpdate(new DicomTag(0x00281052), DicomVR.DS, "-1024");
        ds.AddOrUpdate(PixelData, DicomVR.OW, new ushort[] { 0x0FFF, 0x0800, 0x07FF, 1, 2, 3 });
        var p = DicomPixelData.Create(ds);
        var dirty = Enumerable.Repeat(12345f, 8).ToArray(); // a buffer left by another image, longer than this frame
        p.ReadModalityFrame(0, TransferSyntax.ExplicitVRLittleEndian, dirty);
        var fresh = p.GetModalityFrame(0, TransferSyntax.ExplicitVRLittleEndian);
        Assert.Equal(fresh, dirty[..6]);
        Assert.Equal(new float[] { -1025, -3072, 1023, -1023, -1022, -1021 }, fresh);
        Assert.Equal(12345f, dirty[6]); // nothing past the frame is touched
        Assert.Throws<ArgumentException>(() => p.ReadModalityFrame(0, TransferSyntax.ExplicitVRLittleEndian, new float[5]));
    }

    [Theory]
    [InlineData(16, 15, 0, "1", "0")]
    [InlineData(16, 15, 1, "1", "-1024")]
    [InlineData(12, 11, 1, "1", "-1024")]
    [InlineData(12, 11, 0, "0.5", "-1000.25")]
    [InlineData(12, 15, 0, "1", "0")]
    [InlineData(10, 13, 1, "2.5", "7")]
    [InlineData(14, 13, 1, "0.000123", "3.3")]
    public void Sixteen_bit_frames_convert_every_pixel_exactly_as_the_definition_says(int bitsStored, int highBit, int pixelRep, string slope, string intercept)
    {
        // 1,000 random words (overlay garbage in the unused bits included): 992 go through the 16-wide path, the tail one by one.
        const int n = 1000;
        var ds = Image(1, n, 16, bitsStored, highBit, pixelRep);
        ds.AddOrUpdate(new DicomTag(0x00281053), DicomVR.DS, slope);
        ds.AddOrUpdate(new DicomTag(0x00281052), DicomVR.DS, intercept);
        var rng = new Random(bitsStored * 100 + highBit * 10 + pixelRep);
        var words = Enumerable.Range(0, n).Select(_ => (ushort)rng.Next(0, 65536)).ToArray();
        ds.AddOrUpdate(PixelData, DicomVR.OW, words);
        float fs = (float)double.Parse(slope, System.Globalization.CultureInfo.InvariantCulture);
        float fi = (float)double.Parse(intercept, System.Globalization.CultureInfo.InvariantCulture);
        int shift = highBit + 1 - bitsStored;
        var expected = words.Select(w =>
        {
            long v = (w >> shift) & ((1L << bitsStored) - 1);
            if (pixelRep == 1 && v >= 1L << (bitsStored - 1)) v -= 1L << bitsStored; // two's complement in Bits Stored bits
            return v * fs + fi;
        }).ToArray();
        Assert.Equal(expected, Modality(ds));
    }

    [Fact]
    public void Masks_bits_above_high_bit_and_sign_extends_12_bit_data()
    {
        var ds = Image(1, 4, 16, 12, 11, 1);
        // 0xF000 garbage in the top nibble (overlay bits, PS3.5 §8.1.2) must be ignored; 0x0FFF is -1 in 12-bit two's complement.
        ds.AddOrUpdate(PixelData, DicomVR.OW, new ushort[] { 0xF000 | 0x0FFF, 0x0800, 0x07FF, 0xA001 });
        Assert.Equal(new float[] { -1, -2048, 2047, 1 }, Modality(ds));
    }

    [Fact]
    public void Honours_high_bit_below_bits_allocated_minus_one_with_shift()
    {
        // 12 bits stored in bits 15..4 (High Bit 15): values are shifted right by 4.
        var ds = Image(1, 2, 16, 12, 15, 0);
        ds.AddOrUpdate(PixelData, DicomVR.OW, new ushort[] { 0x1230, 0xFFF0 });
        Assert.Equal(new float[] { 0x123, 0xFFF }, Modality(ds));
    }

    [Fact]
    public void Applies_rescale_slope_and_intercept()
    {
        var ds = Image(1, 3, 16, 16, 15, 0);
        ds.AddOrUpdate(new DicomTag(0x00281052), DicomVR.DS, "-1024");
        ds.AddOrUpdate(new DicomTag(0x00281053), DicomVR.DS, "0.5");
        ds.AddOrUpdate(PixelData, DicomVR.OW, new ushort[] { 0, 2048, 4096 });
        Assert.Equal(new float[] { -1024, 0, 1024 }, Modality(ds));
    }

    [Fact]
    public void Takes_rescale_from_functional_groups_of_enhanced_images_per_frame_over_shared()
    {
        var ds = Image(1, 1, 16, 16, 15, 0, frames: 2);
        static DicomDataset Group(string slope, string intercept)
        {
            var t = new DicomDataset();
            t.AddOrUpdate(new DicomTag(0x00281052), DicomVR.DS, intercept);
            t.AddOrUpdate(new DicomTag(0x00281053), DicomVR.DS, slope);
            var g = new DicomDataset();
            g.AddOrUpdate(new DicomSequence(new DicomTag(0x00289145), [t]));
            return g;
        }
        ds.AddOrUpdate(new DicomSequence(new DicomTag(0x52009229), [Group("2", "10")]));
        ds.AddOrUpdate(new DicomSequence(new DicomTag(0x52009230), [new DicomDataset(), Group("3", "-5")]));
        ds.AddOrUpdate(PixelData, DicomVR.OW, new ushort[] { 100, 100 });
        Assert.Equal(new float[] { 210 }, Modality(ds, 0));
        Assert.Equal(new float[] { 295 }, Modality(ds, 1));
    }

    [Fact]
    public void Inverts_monochrome1_only_when_asked()
    {
        var ds = Image(1, 3, 8, 8, 7, 0, "MONOCHROME1");
        ds.AddOrUpdate(PixelData, DicomVR.OB, new byte[] { 0, 55, 255, 0 });
        Assert.Equal(new float[] { 255, 200, 0 }, Modality(ds));
        Assert.Equal(new float[] { 0, 55, 255 }, Modality(ds, normalize: false));
    }

    [Fact]
    public void Pixel_padding_value_and_range_become_NaN_before_rescale()
    {
        var ds = Image(1, 4, 16, 16, 15, 1);
        ds.AddOrUpdate(new DicomTag(0x00281052), DicomVR.DS, "-1024");
        ds.AddOrUpdate(new DicomTag(0x00280120), DicomVR.SS, (short)-2000);
        ds.AddOrUpdate(new DicomTag(0x00280121), DicomVR.SS, (short)-1990);
        ds.AddOrUpdate(PixelData, DicomVR.OW, new short[] { -2000, -1995, -1989, 1024 });
        var v = Modality(ds);
        Assert.True(float.IsNaN(v[0]) && float.IsNaN(v[1]));
        Assert.Equal(-1989 - 1024, v[2]);
        Assert.Equal(0, v[3]);
    }

    [Fact]
    public void Native_multi_frame_slices_without_copying()
    {
        var ds = Image(2, 2, 16, 16, 15, 0, frames: 3);
        var pixels = new ushort[12];
        for (int i = 0; i < 12; i++) pixels[i] = (ushort)i;
        ds.AddOrUpdate(PixelData, DicomVR.OW, pixels);
        var p = DicomPixelData.Create(ds);
        var frame2 = p.GetNativeFrame(2);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(frame2, out var seg));
        Assert.Same(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(ds.GetElement(PixelData)!.Data, out var all) ? all.Array : null, seg.Array);
        Assert.Equal(new float[] { 8, 9, 10, 11 }, Modality(ds, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.GetNativeFrame(3));
    }

    [Fact]
    public void One_bit_frames_are_unpacked_across_byte_boundaries()
    {
        var ds = Image(1, 3, 1, 1, 0, 0, frames: 2);
        // 6 bits: frame 0 = 1,0,1 ; frame 1 = 1,1,0 packed LSB first: 0b011_101 = 0x1D
        ds.AddOrUpdate(PixelData, DicomVR.OB, new byte[] { 0x1D, 0 });
        var p = DicomPixelData.Create(ds);
        Assert.Equal(new byte[] { 1, 0, 1 }, p.GetNativeFrame(0).ToArray());
        Assert.Equal(new byte[] { 1, 1, 0 }, p.GetNativeFrame(1).ToArray());
    }

    [Fact]
    public void Too_little_pixel_data_is_a_clear_error()
    {
        var ds = Image(4, 4, 16, 16, 15, 0);
        ds.AddOrUpdate(PixelData, DicomVR.OW, new ushort[10]);
        var ex = Assert.Throws<DicomPixelDataException>(() => DicomPixelData.Create(ds));
        Assert.Contains("holds 20 bytes", ex.Message, StringComparison.Ordinal);
    }

    private static DicomDataset Encapsulated(int frames, byte[] bot, params byte[][] fragments)
    {
        var ds = Image(1, 1, 8, 8, 7, 0, frames: frames);
        ds.AddOrUpdate(new DicomFragmentSequence(PixelData, DicomVR.OB, bot, fragments.Select(f => new ReadOnlyMemory<byte>(f))));
        return ds;
    }

    [Fact]
    public void Encapsulated_frames_by_basic_offset_table_with_frames_split_over_fragments()
    {
        // Frame 0 = fragments 0+1 (4 and 2 bytes), frame 1 = fragment 2. Offsets count item headers (8 bytes each).
        var bot = new byte[8];
        BitConverter.TryWriteBytes(bot.AsSpan(4), 8 + 4 + 8 + 2);
        var ds = Encapsulated(2, bot, [1, 2, 3, 4], [5, 6], [7, 8]);
        var p = DicomPixelData.Create(ds);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, p.GetEncapsulatedFrame(0).ToArray());
        Assert.Equal(new byte[] { 7, 8 }, p.GetEncapsulatedFrame(1).ToArray());
    }

    [Fact]
    public void Encapsulated_frames_by_extended_offset_table()
    {
        var ds = Encapsulated(2, [], [1, 2, 3, 4], [5, 6]);
        ds.AddOrUpdate(new DicomTag(0x7FE00001), DicomVR.OV, new ulong[] { 0, 12 });
        ds.AddOrUpdate(new DicomTag(0x7FE00002), DicomVR.OV, new ulong[] { 3, 2 });
        var p = DicomPixelData.Create(ds);
        Assert.Equal(new byte[] { 1, 2, 3 }, p.GetEncapsulatedFrame(0).ToArray());
        Assert.Equal(new byte[] { 5, 6 }, p.GetEncapsulatedFrame(1).ToArray());
    }

    [Fact]
    public void Encapsulated_frames_without_table_split_at_JPEG_start_markers()
    {
        var ds = Encapsulated(2, [], [0xFF, 0xD8, 1, 2], [3, 4], [0xFF, 0xD8, 9, 9]);
        var p = DicomPixelData.Create(ds);
        Assert.Equal(new byte[] { 0xFF, 0xD8, 1, 2, 3, 4 }, p.GetEncapsulatedFrame(0).ToArray());
        Assert.Equal(new byte[] { 0xFF, 0xD8, 9, 9 }, p.GetEncapsulatedFrame(1).ToArray());
    }

    [Fact]
    public void Real_CT_small_gives_plausible_hounsfield_units()
    {
        using var f = DicomFile.Open(TestFiles.Pydicom("CT_small.dcm"));
        var p = DicomPixelData.Create(f.Dataset);
        var hu = new float[p.Rows * p.Columns];
        p.ToModalityValues(p.GetNativeFrame(0).Span, hu);
        // Oracle: pydicom 2.3.1's pixel_array with its modality LUT gives min -896, max 1167, mean -119.0738525390625
        // (no pixel equals the padding value -2000 in this file).
        Assert.DoesNotContain(hu, float.IsNaN);
        Assert.Equal(-896, hu.Min());
        Assert.Equal(1167, hu.Max());
        Assert.Equal(-119.0738525390625, hu.Average(v => (double)v), 9);
    }
}
