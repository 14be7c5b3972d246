using QcPipeline.Dicom.Imaging.Codecs;

namespace QcPipeline.Dicom.Tests.Imaging.Codecs;

public class RleCodecTests
{
    private static readonly RleCodec Codec = new();

    private static byte[] RandomFrame(FrameInfo info, int seed)
    {
        var random = new Random(seed);
        var data = new byte[info.FrameLength];
        int i = 0;
        while (i < data.Length)
        {
            // mix literal noise and runs so both PackBits forms (and runs > 128) are exercised
            int n = Math.Min(data.Length - i, random.Next(1, 300));
            if (random.Next(2) == 0) random.NextBytes(data.AsSpan(i, n));
            else data.AsSpan(i, n).Fill((byte)random.Next(3));
            i += n;
        }
        return data;
    }

    [Theory]
    [InlineData(8, 1, 0)]
    [InlineData(16, 1, 0)]
    [InlineData(32, 1, 0)]
    [InlineData(8, 3, 0)]
    [InlineData(8, 3, 1)]
    [InlineData(16, 3, 0)]
    [InlineData(16, 3, 1)]
    [InlineData(32, 3, 0)]
    [InlineData(32, 3, 1)]
    public void RoundTrip_RandomFrames(int bits, int samples, int planar)
    {
        foreach (var (rows, cols) in new[] { (1, 1), (7, 13), (64, 300) })
        {
            var info = new FrameInfo(rows, cols, samples, bits, bits, false, planar);
            byte[] native = RandomFrame(info, (rows * 31) + bits + samples);
            byte[] encoded = RleCodec.Encode(native, info);
            Assert.Equal(0, encoded.Length % 2);
            var decoded = new byte[native.Length];
            Codec.Decode(encoded, info, decoded);
            Assert.Equal(native, decoded);

            // the encoded form does not depend on the planar configuration: decode into the other one
            var other = info with { PlanarConfiguration = 1 - planar };
            var toggled = new byte[native.Length];
            Codec.Decode(encoded, other, toggled);
            Assert.Equal(TestData.TogglePlanar(native, info), toggled);
        }
    }

    [Fact]
    public void Encode_UsesReplicateRunsForConstantData()
    {
        var info = new FrameInfo(16, 16, 1, 8, 8, false, 0);
        byte[] encoded = RleCodec.Encode(new byte[256], info);
        // header + two replicate runs of 128 zeros
        Assert.Equal(64 + 4, encoded.Length);
    }

    [Theory]
    [InlineData("MR_small_RLE.dcm", "MR_small.dcm")]
    [InlineData("rtdose_rle.dcm", "rtdose.dcm")]
    public void Decode_PydicomCorpus_MatchesNativeFile(string rleName, string nativeName)
    {
        string rlePath = TestData.Pydicom(rleName), nativePath = TestData.Pydicom(nativeName);
        var rle = TestDicomScanner.Scan(rlePath);
        var native = TestDicomScanner.Scan(nativePath);
        AssertFramesMatch(rle, native);
    }

    [Theory]
    [InlineData("SC_rgb_rle.dcm")]
    [InlineData("SC_rgb_rle_2frame.dcm")]
    [InlineData("SC_rgb_rle_16bit.dcm")]
    [InlineData("SC_rgb_rle_16bit_2frame.dcm")]
    [InlineData("SC_rgb_rle_32bit.dcm")]
    [InlineData("SC_rgb_rle_32bit_2frame.dcm")]
    [InlineData("MR_small_RLE.dcm")]
    public void Decode_PydicomCorpus_MatchesDcmdrle(string name)
    {
        string path = TestData.Pydicom(name);
        string reference = TestData.Dcmtk("dcmdrle", path, "+te");
        try
        {
            AssertFramesMatch(TestDicomScanner.Scan(path), TestDicomScanner.Scan(reference));
        }
        finally
        {
            File.Delete(reference);
        }
    }

    [Theory]
    [InlineData("MR_small.dcm")]
    [InlineData("CT_small.dcm")]
    [InlineData("rtdose.dcm")]
    public void Decode_DcmcrleOutput_MatchesOriginal(string name)
    {
        string path = TestData.Pydicom(name);
        string compressed = TestData.Dcmtk("dcmcrle", path);
        try
        {
            var rle = TestDicomScanner.Scan(compressed);
            var native = TestDicomScanner.Scan(path);
            AssertFramesMatch(rle, native);

            // our encoder decodes to the same frames too
            var info = native.FrameInfo();
            for (int f = 0; f < native.Frames; f++)
            {
                byte[] expected = native.NativeFrame(f);
                var decoded = new byte[expected.Length];
                Codec.Decode(RleCodec.Encode(expected, info), info, decoded);
                Assert.Equal(expected, decoded);
            }
        }
        finally
        {
            File.Delete(compressed);
        }
    }

    internal static void AssertFramesMatch(TestDicomScanner compressed, TestDicomScanner native, IPixelCodec? codec = null)
    {
        codec ??= Codec;
        var info = native.FrameInfo();
        Assert.Equal(native.Frames, compressed.Frames);
        Assert.NotNull(compressed.Fragments);
        Assert.Equal(native.Frames, compressed.Fragments!.Count); // one fragment per frame in these files
        for (int f = 0; f < native.Frames; f++)
        {
            byte[] expected = native.NativeFrame(f);
            var decoded = new byte[expected.Length];
            codec.Decode(compressed.Fragments[f], info, decoded);
            Assert.Equal(expected, decoded);
            if (info.SamplesPerPixel > 1)
            {
                var other = info with { PlanarConfiguration = 1 - info.PlanarConfiguration };
                codec.Decode(compressed.Fragments[f], other, decoded);
                Assert.Equal(TestData.TogglePlanar(expected, info), decoded);
            }
        }
    }

    [Fact]
    public void Decode_CorruptInputs_ThrowPixelCodecException()
    {
        var info = new FrameInfo(32, 32, 3, 16, 16, false, 0);
        byte[] native = RandomFrame(info, 7);
        byte[] good = RleCodec.Encode(native, info);
        var destination = new byte[info.FrameLength];

        Assert.Throws<PixelCodecException>(() => Codec.Decode(good.AsSpan(0, 40), info, destination));
        Assert.Throws<PixelCodecException>(() => Codec.Decode(good.AsSpan(0, good.Length / 2), info, destination));
        Assert.Throws<PixelCodecException>(() => Codec.Decode(new byte[64], info, destination));

        byte[] wrongCount = (byte[])good.Clone();
        wrongCount[0] = 5;
        var ex = Assert.Throws<PixelCodecException>(() => Codec.Decode(wrongCount, info, destination));
        Assert.Contains("segments", ex.Message);

        byte[] badOffset = (byte[])good.Clone();
        BitConverter.TryWriteBytes(badOffset.AsSpan(4 + 8), good.Length + 100);
        ex = Assert.Throws<PixelCodecException>(() => Codec.Decode(badOffset, info, destination));
        Assert.Contains("segment 3", ex.Message);

        // a declared 8-bit mono frame whose only segment is a lone literal header
        var mono = new FrameInfo(4, 4, 1, 8, 8, false, 0);
        byte[] lone = new byte[66];
        lone[0] = 1;
        lone[4] = 64;
        lone[64] = 10; // literal of 11 bytes, only 1 present
        Assert.Throws<PixelCodecException>(() => Codec.Decode(lone, mono, new byte[16]));
    }

    [Fact]
    public void Decode_RandomMutations_OnlyPixelCodecException()
    {
        var info = new FrameInfo(20, 20, 1, 16, 12, true, 0);
        byte[] good = RleCodec.Encode(RandomFrame(info, 3), info);
        var random = new Random(11);
        var destination = new byte[info.FrameLength];
        for (int i = 0; i < 2000; i++)
        {
            byte[] bad = (byte[])good.Clone();
            int mutations = random.Next(1, 6);
            for (int m = 0; m < mutations; m++) bad[random.Next(bad.Length)] = (byte)random.Next(256);
            int length = random.Next(3) == 0 ? random.Next(bad.Length) : bad.Length;
            try
            {
                Codec.Decode(bad.AsSpan(0, length), info, destination);
            }
            catch (PixelCodecException)
            {
            }
        }
    }

    [Fact]
    public void Decode_DestinationTooSmall_ThrowsArgumentException()
    {
        var info = new FrameInfo(4, 4, 1, 8, 8, false, 0);
        byte[] encoded = RleCodec.Encode(new byte[16], info);
        Assert.Throws<ArgumentException>(() => Codec.Decode(encoded, info, new byte[15]));
    }
}
