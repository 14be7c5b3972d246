using System.Collections.Concurrent;

namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>
/// Maps encapsulated transfer syntax UIDs to pixel codecs. Transfer syntaxes that are known but cannot be decoded
/// here (lossy JPEG, MPEG, missing native library) are registered with the reason, which
/// <see cref="Get"/> reports as a <see cref="NotSupportedException"/>.
/// </summary>
public sealed class PixelCodecRegistry
{
    private readonly ConcurrentDictionary<string, Func<(IPixelCodec? Codec, string? Reason)>> _factories = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (IPixelCodec? Codec, string? Reason)> _resolved = new(StringComparer.Ordinal);

    public static PixelCodecRegistry CreateDefault()
    {
        var registry = new PixelCodecRegistry();
        registry.Register(new RleCodec());
        registry.Register(new JpegLosslessCodec(JpegLosslessCodec.Sv1Uid));
        registry.Register(new JpegLosslessCodec(JpegLosslessCodec.Process14Uid));

        foreach (var (uid, lossy) in new[] { (JpegLsCodec.LosslessUid, false), (JpegLsCodec.NearLosslessUid, true) })
            registry.RegisterNative(uid, () => CharLs.LoadError is { } error ? (null, error) : (new JpegLsCodec(uid, lossy), null));

        foreach (var (uid, lossy) in new[]
                 {
                     (Jpeg2000Codec.LosslessUid, false), (Jpeg2000Codec.Uid, true),
                     (Jpeg2000Codec.HtLosslessUid, false), (Jpeg2000Codec.HtLosslessRpclUid, false), (Jpeg2000Codec.HtUid, true),
                 })
            registry.RegisterNative(uid, () => OpenJpeg.LoadError is { } error ? (null, error) : (new Jpeg2000Codec(uid, lossy), null));

        registry.RegisterUnsupported("1.2.840.10008.1.2.4.50", "no lossy JPEG (baseline) decoder available");
        registry.RegisterUnsupported("1.2.840.10008.1.2.4.51", "no lossy JPEG (extended) decoder available");
        return registry;
    }

    /// <summary>Registers (or replaces) a codec for its transfer syntax.</summary>
    public void Register(IPixelCodec codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        _resolved.TryRemove(codec.TransferSyntaxUid, out _);
        _factories[codec.TransferSyntaxUid] = () => (codec, null);
    }

    /// <summary>Registers a transfer syntax as known but not decodable, with the reason given to callers.</summary>
    public void RegisterUnsupported(string transferSyntaxUid, string reason)
    {
        _resolved.TryRemove(transferSyntaxUid, out _);
        _factories[transferSyntaxUid] = () => (null, reason);
    }

    private void RegisterNative(string uid, Func<(IPixelCodec? Codec, string? Reason)> factory) => _factories[uid] = factory;

    public bool TryGet(string tsUid, out IPixelCodec codec)
    {
        var (found, _) = Resolve(tsUid);
        codec = found!;
        return found is not null;
    }

    /// <exception cref="NotSupportedException">no codec for the transfer syntax (the message says why).</exception>
    public IPixelCodec Get(string tsUid)
    {
        var (codec, reason) = Resolve(tsUid);
        if (codec is not null) return codec;
        string message = $"transfer syntax {tsUid} not supported for pixel access";
        throw new NotSupportedException(reason is null ? message : $"{message}: {reason}");
    }

    private (IPixelCodec? Codec, string? Reason) Resolve(string tsUid)
    {
        ArgumentNullException.ThrowIfNull(tsUid);
        tsUid = tsUid.TrimEnd('\0', ' ');
        if (_resolved.TryGetValue(tsUid, out var known)) return known;
        if (!_factories.TryGetValue(tsUid, out var factory)) return (null, null);
        return _resolved.GetOrAdd(tsUid, _ => factory());
    }

    /// <summary>
    /// True for transfer syntaxes whose pixel data may have been irreversibly compressed: lossy JPEG processes
    /// (.50–.56, .59–.64), JPEG-LS near-lossless (.81), JPEG 2000 (.91, Part 2 .93), HTJ2K (.203), JPIP (.94, .95),
    /// MPEG-2/MPEG-4/HEVC (.100–.108) and JPEG XL (.111 recompressed JPEG, .112).
    /// </summary>
    public static bool IsLossyTransferSyntax(string uid)
    {
        ArgumentNullException.ThrowIfNull(uid);
        const string prefix = "1.2.840.10008.1.2.4.";
        uid = uid.TrimEnd('\0', ' ');
        if (!uid.StartsWith(prefix, StringComparison.Ordinal)) return false;
        if (!int.TryParse(uid.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n))
            return false;
        return n switch
        {
            >= 50 and <= 56 => true,   // baseline, extended, retired spectral/progressive
            >= 59 and <= 64 => true,   // retired lossy hierarchical / progressive
            81 => true,                // JPEG-LS near-lossless
            91 or 93 => true,          // JPEG 2000 (Part 1 / Part 2) allowing irreversible
            94 or 95 => true,          // JPIP referenced (may be lossy)
            >= 100 and <= 108 => true, // MPEG-2, MPEG-4 AVC/H.264, HEVC/H.265
            111 or 112 => true,        // JPEG XL JPEG recompression, JPEG XL
            203 or 204 or 205 => true, // HTJ2K, JPIP HTJ2K referenced (may be lossy)
            _ => false,
        };
    }
}
