using QcPipeline.Dicom.Imaging.Codecs;

namespace QcPipeline.Dicom.Tests.Imaging.Codecs;

/// <summary>JPEG-LS (CharLS) and JPEG 2000 (OpenJPEG) through the registry.</summary>
public class NativeCodecTests
{
    private static readonly PixelCodecRegistry Registry = PixelCodecRegistry.CreateDefault();

    private static void CheckPair(string compressedName, string nativeName)
    {
        string compressedPath = TestData.Pydicom(compressedName), nativePath = TestData.Pydicom(nativeName);
        var compressed = TestDicomScanner.Scan(compressedPath);
        RleCodecTests.AssertFramesMatch(compressed, TestDicomScanner.Scan(nativePath), Registry.Get(compressed.TransferSyntax));
    }

    [Fact]
    public void JpegLs_PydicomMrSmall_DecodesExactly() => CheckPair("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm");

    [Fact]
    public void Jpeg2000_PydicomMrSmall_DecodesExactly() => CheckPair("MR_small_jp2klossless.dcm", "MR_small.dcm");

    [Theory]
    [InlineData("MR_small.dcm", "+el", "+il")]
    [InlineData("CT_small.dcm", "+el", "+il")]
    [InlineData("SC_rgb_rle.dcm", "+el", "+il")]
    [InlineData("SC_rgb_rle.dcm", "+el", "+is")]
    [InlineData("SC_rgb_rle.dcm", "+el", "+in")]
    [InlineData("SC_rgb_rle_16bit.dcm", "+el", "+in")]
    [InlineData("SC_rgb_small_odd.dcm", "+el", "+il")]
    public void JpegLs_Dcmcjpls_DecodesExactly(string name, string mode, string interleave)
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
            string compressed = TestData.Dcmtk("dcmcjpls", native, mode, interleave);
            temporary.Add(compressed);
            var jpegLs = TestDicomScanner.Scan(compressed);
            Assert.Equal(JpegLsCodec.LosslessUid, jpegLs.TransferSyntax);
            RleCodecTests.AssertFramesMatch(jpegLs, TestDicomScanner.Scan(native), Registry.Get(jpegLs.TransferSyntax));
        }
        finally
        {
            foreach (string t in temporary) File.Delete(t);
        }
    }

    [Fact]
    public void JpegLs_NearLossless_WithinNear()
    {
        string path = TestData.Pydicom("SC_rgb_rle.dcm");
        string native = TestData.Dcmtk("dcmdrle", path, "+te");
        string compressed = TestData.Dcmtk("dcmcjpls", native, "+en");
        try
        {
            var jpegLs = TestDicomScanner.Scan(compressed);
            Assert.Equal(JpegLsCodec.NearLosslessUid, jpegLs.TransferSyntax);
            var codec = Registry.Get(jpegLs.TransferSyntax);
            Assert.True(codec.IsLossy);
            var reference = TestDicomScanner.Scan(native);
            var info = reference.FrameInfo();
            var decoded = new byte[info.FrameLength];
            codec.Decode(jpegLs.Fragments![0], info, decoded);
            byte[] expected = reference.NativeFrame(0);
            for (int i = 0; i < expected.Length; i++)
                Assert.InRange(Math.Abs(expected[i] - decoded[i]), 0, 2); // dcmcjpls +en uses NEAR = 2
            Assert.NotEqual(expected, decoded);
        }
        finally
        {
            File.Delete(native);
            if (compressed is not null) File.Delete(compressed);
        }
    }

    [Theory]
    [InlineData(JpegLsCodec.LosslessUid, "MR_small_jpeg_ls_lossless.dcm")]
    [InlineData(Jpeg2000Codec.LosslessUid, "MR_small_jp2klossless.dcm")]
    public void CorruptStreams_ThrowPixelCodecException(string uid, string name)
    {
        string path = TestData.Pydicom(name);
        var codec = Registry.Get(uid);
        var file = TestDicomScanner.Scan(path);
        var info = file.FrameInfo();
        byte[] good = file.Fragments![0];
        var destination = new byte[info.FrameLength];

        Assert.Throws<PixelCodecException>(() => codec.Decode([], info, destination));
        Assert.Throws<PixelCodecException>(() => codec.Decode(new byte[200], info, destination));
        foreach (int length in new[] { 2, 10, 40, good.Length / 4, good.Length / 2 })
            Assert.Throws<PixelCodecException>(() => codec.Decode(good.AsSpan(0, length), info, destination));
        Assert.Throws<PixelCodecException>(() => codec.Decode(good, info with { Rows = 32 }, new byte[info.FrameLength]));

        var random = new Random(3);
        for (int i = 0; i < 100; i++)
        {
            byte[] bad = (byte[])good.Clone();
            for (int m = random.Next(1, 4); m > 0; m--) bad[random.Next(bad.Length)] = (byte)random.Next(256);
            try
            {
                codec.Decode(bad, info, destination);
            }
            catch (PixelCodecException)
            {
            }
        }
    }
}
