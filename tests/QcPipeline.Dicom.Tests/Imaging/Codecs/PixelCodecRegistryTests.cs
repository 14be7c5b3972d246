using QcPipeline.Dicom.Imaging.Codecs;

namespace QcPipeline.Dicom.Tests.Imaging.Codecs;

public class PixelCodecRegistryTests
{
    [Theory]
    [InlineData("1.2.840.10008.1.2.5", false)]
    [InlineData("1.2.840.10008.1.2.4.70", false)]
    [InlineData("1.2.840.10008.1.2.4.57", false)]
    [InlineData("1.2.840.10008.1.2.4.80", false)]
    [InlineData("1.2.840.10008.1.2.4.81", true)]
    [InlineData("1.2.840.10008.1.2.4.90", false)]
    [InlineData("1.2.840.10008.1.2.4.91", true)]
    public void Default_HasCodecs(string uid, bool lossy)
    {
        var registry = PixelCodecRegistry.CreateDefault();
        Assert.True(registry.TryGet(uid, out var codec));
        Assert.Equal(uid, codec.TransferSyntaxUid);
        Assert.Equal(lossy, codec.IsLossy);
        Assert.Equal(lossy, PixelCodecRegistry.IsLossyTransferSyntax(uid));
        Assert.Same(codec, registry.Get(uid + "\0"));
    }

    [Theory]
    [InlineData("1.2.840.10008.1.2.4.50", "lossy JPEG")]
    [InlineData("1.2.840.10008.1.2.4.51", "lossy JPEG")]
    [InlineData("1.2.840.10008.1.2.4.100", null)]
    [InlineData("1.2.840.10008.1.2.1", null)]
    public void Unsupported_ThrowsNotSupported(string uid, string? reason)
    {
        var registry = PixelCodecRegistry.CreateDefault();
        Assert.False(registry.TryGet(uid, out _));
        var ex = Assert.Throws<NotSupportedException>(() => registry.Get(uid));
        Assert.StartsWith($"transfer syntax {uid} not supported for pixel access", ex.Message);
        if (reason is not null) Assert.Contains(reason, ex.Message);
    }

    [Theory]
    [InlineData("1.2.840.10008.1.2.4.50", true)]
    [InlineData("1.2.840.10008.1.2.4.51", true)]
    [InlineData("1.2.840.10008.1.2.4.102", true)]
    [InlineData("1.2.840.10008.1.2.4.203", true)]
    [InlineData("1.2.840.10008.1.2.4.201", false)]
    [InlineData("1.2.840.10008.1.2.4.57", false)]
    [InlineData("1.2.840.10008.1.2.1", false)]
    [InlineData("1.2.840.10008.1.2.5", false)]
    public void IsLossyTransferSyntax(string uid, bool lossy) => Assert.Equal(lossy, PixelCodecRegistry.IsLossyTransferSyntax(uid));
}
