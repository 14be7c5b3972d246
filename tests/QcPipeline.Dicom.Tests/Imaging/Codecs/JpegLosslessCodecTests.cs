using System.Buffers.Binary;
using System.Diagnostics;
using QcPipeline.Dicom.Imaging.Codecs;

namespace QcPipeline.Dicom.Tests.Imaging.Codecs;

public class JpegLosslessCodecTests
{
    private static readonly JpegLosslessCodec Sv1 = new(JpegLosslessCodec.Sv1Uid);
    private static readonly JpegLosslessCodec Process14 = new(JpegLosslessCodec.Process14Uid);

    /// <summary>Compresses a pydicom corpus file (decompressing RLE first) with dcmcjpeg and checks every frame decodes exactly.</summary>
    private static void CheckDcmcjpeg(string name, string expectedTs, params string[] options)
    {
        string path = TestData.Pydicom(name);
        var temporary = new List<string>();
        try
        {
            string native = path;
            if (TestDicomScanner.Scan(path).Native is null)
            {
                native = TestData.Dcmtk("dcmdrle", path, "+te");
                temporary.Add(native);
            }
            string compressed = TestData.Dcmtk("dcmcjpeg", native, options);
            temporary.Add(compressed);
            var jpeg = TestDicomScanner.Scan(compressed);
            Assert.Equal(expectedTs, jpeg.TransferSyntax);
            var codec = PixelCodecRegistry.CreateDefault().Get(jpeg.TransferSyntax);
            RleCodecTests.AssertFramesMatch(jpeg, TestDicomScanner.Scan(native), codec);
        }
        finally
        {
            foreach (string t in temporary) File.Delete(t);
        }
    }

    [Theory]
    [InlineData("MR_small.dcm")]
    [InlineData("CT_small.dcm")]
    [InlineData("SC_rgb_small_odd.dcm")]
    [InlineData("SC_rgb_rle.dcm")]
    [InlineData("SC_rgb_rle_16bit_2frame.dcm")]
    public void Dcmcjpeg_Sv1_DecodesExactly(string name) => CheckDcmcjpeg(name, JpegLosslessCodec.Sv1Uid, "+e1");

    [Theory]
    [InlineData("CT_small.dcm", 1)]
    [InlineData("CT_small.dcm", 2)]
    [InlineData("CT_small.dcm", 3)]
    [InlineData("CT_small.dcm", 4)]
    [InlineData("CT_small.dcm", 5)]
    [InlineData("CT_small.dcm", 6)]
    [InlineData("CT_small.dcm", 7)]
    [InlineData("MR_small.dcm", 7)]
    [InlineData("SC_rgb_rle.dcm", 4)]
    public void Dcmcjpeg_Process14_AnyPredictor_DecodesExactly(string name, int predictor) =>
        CheckDcmcjpeg(name, JpegLosslessCodec.Process14Uid, "+el", "+sv", predictor.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Dcmcjpeg_PointTransform_DropsLowBits()
    {
        string path = TestData.Pydicom("CT_small.dcm");
        string compressed = TestData.Dcmtk("dcmcjpeg", path, "+e1", "+pt", "2");
        try
        {
            var jpeg = TestDicomScanner.Scan(compressed);
            var native = TestDicomScanner.Scan(path);
            var info = native.FrameInfo();
            var decoded = new byte[info.FrameLength];
            Sv1.Decode(jpeg.Fragments![0], info, decoded);
            byte[] expected = native.NativeFrame(0);
            for (int i = 0; i < expected.Length; i += 2)
                BinaryPrimitives.WriteUInt16LittleEndian(expected.AsSpan(i), (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(expected.AsSpan(i)) & 0xFFFC));
            Assert.Equal(expected, decoded);
        }
        finally
        {
            File.Delete(compressed);
        }
    }

    private static ushort[] RandomSamples(int count, int precision, int seed)
    {
        var random = new Random(seed);
        var samples = new ushort[count];
        int max = (1 << precision) - 1;
        int value = random.Next(max + 1);
        for (int i = 0; i < count; i++)
        {
            // smooth with occasional jumps (incl. extremes for the 32768 difference category)
            value = random.Next(20) switch
            {
                0 => 0,
                1 => max,
                2 => random.Next(max + 1),
                _ => Math.Clamp(value + random.Next(-50, 51), 0, max),
            };
            samples[i] = (ushort)value;
        }
        return samples;
    }

    private static byte[] ToNative(ushort[] samples, FrameInfo info, int pointTransform)
    {
        var native = new byte[info.FrameLength];
        for (int i = 0; i < samples.Length; i++)
        {
            int value = (samples[i] >> pointTransform) << pointTransform;
            if (info.BytesPerSample == 1) native[i] = (byte)value;
            else BinaryPrimitives.WriteUInt16LittleEndian(native.AsSpan(2 * i), (ushort)value);
        }
        return native;
    }

    [Theory]
    [InlineData(1, 16, 1, 0, 0)]
    [InlineData(1, 16, 1, 0, 37)]    // restart interval = one line
    [InlineData(1, 12, 5, 0, 11)]    // restarts in the middle of lines
    [InlineData(3, 8, 1, 0, 74)]
    [InlineData(3, 8, 6, 0, 13)]
    [InlineData(1, 16, 7, 3, 37)]
    [InlineData(1, 2, 4, 0, 5)]
    [InlineData(3, 16, 2, 1, 1)]     // restart after every MCU
    public void SyntheticStreams_WithRestartsPredictorsPointTransform_DecodeExactly(int components, int precision, int predictor, int pointTransform, int restart)
    {
        const int rows = 23, cols = 37;
        ushort[] samples = RandomSamples(rows * cols * components, precision, (precision * 7) + predictor + restart);
        byte[] jpeg = TestJpegLosslessEncoder.Encode(samples, rows, cols, components, precision, predictor, pointTransform, restart);
        var info = new FrameInfo(rows, cols, components, precision <= 8 ? 8 : 16, precision, false, 0);
        var decoded = new byte[info.FrameLength];
        Process14.Decode(jpeg, info, decoded);
        byte[] expected = ToNative(samples, info, pointTransform);
        Assert.Equal(expected, decoded);
        if (components == 3)
        {
            Process14.Decode(jpeg, info with { PlanarConfiguration = 1 }, decoded);
            Assert.Equal(TestData.TogglePlanar(expected, info), decoded);
        }
    }

    [Fact]
    public void SignedData_PrecisionBelowBitsAllocated_IsSignExtended()
    {
        // 12-bit two's complement -1 and -2048 and +5
        ushort[] samples = [0x0FFF, 0x0800, 0x0005, 0x0000];
        byte[] jpeg = TestJpegLosslessEncoder.Encode(samples, 2, 2, 1, 12, 1, 0, 0);
        var info = new FrameInfo(2, 2, 1, 16, 12, true, 0);
        var decoded = new byte[8];
        Sv1.Decode(jpeg, info, decoded);
        Assert.Equal(new short[] { -1, -2048, 5, 0 }, Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadInt16LittleEndian(decoded.AsSpan(2 * i))));
    }

    [Fact]
    public void WrongRestartMarker_IsReported()
    {
        ushort[] samples = RandomSamples(8 * 8, 8, 1);
        byte[] jpeg = TestJpegLosslessEncoder.Encode(samples, 8, 8, 1, 8, 1, 0, 8);
        int rst = Array.FindIndex(jpeg, 2, b => b == 0xD0);
        Assert.Equal(0xFF, jpeg[rst - 1]);
        jpeg[rst] = 0xD3;
        var ex = Assert.Throws<PixelCodecException>(() => Sv1.Decode(jpeg, new FrameInfo(8, 8, 1, 8, 8, false, 0), new byte[64]));
        Assert.Contains("RST0", ex.Message);
    }

    [Fact]
    public void MismatchedFrameInfo_IsReported()
    {
        byte[] jpeg = TestJpegLosslessEncoder.Encode(new ushort[16], 4, 4, 1, 8, 1, 0, 0);
        var ex = Assert.Throws<PixelCodecException>(() => Sv1.Decode(jpeg, new FrameInfo(4, 5, 1, 8, 8, false, 0), new byte[20]));
        Assert.Contains("4x4", ex.Message);
        Assert.Throws<PixelCodecException>(() => Sv1.Decode(jpeg, new FrameInfo(4, 4, 3, 8, 8, false, 0), new byte[48]));
    }

    [Fact]
    public void CorruptStreams_ThrowPixelCodecExceptionQuickly()
    {
        const int rows = 40, cols = 40;
        ushort[] samples = RandomSamples(rows * cols * 3, 16, 5);
        var info = new FrameInfo(rows, cols, 3, 16, 16, false, 0);
        var destination = new byte[info.FrameLength];
        foreach (int restart in new[] { 0, 17 })
        {
            byte[] good = TestJpegLosslessEncoder.Encode(samples, rows, cols, 3, 16, 1, 0, restart);
            Process14.Decode(good, info, destination);

            // every truncation that cuts into the entropy data fails cleanly
            for (int length = 0; length < good.Length - 40; length += 7)
                Assert.Throws<PixelCodecException>(() => Process14.Decode(good.AsSpan(0, length), info, destination));

            var random = new Random(restart);
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < 1500; i++)
            {
                byte[] bad = (byte[])good.Clone();
                for (int m = random.Next(1, 5); m > 0; m--) bad[random.Next(bad.Length)] = (byte)random.Next(256);
                try
                {
                    Process14.Decode(bad, info, destination);
                }
                catch (PixelCodecException)
                {
                }
            }
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30));
        }

        Assert.Throws<PixelCodecException>(() => Process14.Decode([], info, destination));
        Assert.Throws<PixelCodecException>(() => Process14.Decode([0xFF, 0xD8, 0xFF, 0xD9], info, destination));
        Assert.Throws<PixelCodecException>(() => Process14.Decode(new byte[100], info, destination));
    }
}
