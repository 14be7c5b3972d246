using System.Buffers.Binary;
using Microsoft.Extensions.Options;
using PdfSharp.Fonts;

namespace QcPipeline.Service.Reports;

/// <summary>The CJK font of PDF reports: <c>Reports:FontPath</c>, else the first Debian CJK TrueType font installed. Found
/// once at start; when there is none, JSON and CSV reports still work and a PDF request gets 503 naming the fix.</summary>
public sealed class CjkFont
{
    /// <summary>Debian packages' TrueType-outline CJK fonts, best first: fonts-wqy-microhei, fonts-wqy-zenhei,
    /// fonts-arphic-uming, fonts-droid-fallback. (fonts-noto-cjk ships CFF outlines, which PDFsharp cannot embed.)</summary>
    public static readonly IReadOnlyList<string> DebianDefaults =
    [
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    ];

    public CjkFont(IOptions<ReportOptions> options, ILogger<CjkFont> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configured = options.Value.FontPath;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            // Validated at start (ReportOptionsValidator): it exists and is TrueType.
            Path = System.IO.Path.GetFullPath(configured);
        }
        else
        {
            Path = DebianDefaults.FirstOrDefault(p => Check(p) is null);
            if (Path is null)
            {
                Problem = "no CJK font for PDF reports: install the Debian package fonts-wqy-microhei, or set Reports:FontPath to a TrueType .ttf/.ttc file";
                logger.LogWarning("Reports: {Problem}; JSON and CSV reports still work", Problem);
            }
        }
        if (Path is not null) FamilyName = CjkFontResolver.FamilyPrefix + Path;
    }

    /// <summary>The font file, or null when none was found (<see cref="Problem"/> says what to do).</summary>
    public string? Path { get; }
    public string? Problem { get; }

    /// <summary>The family name to give <c>XFont</c>: it carries the path, so that the process-wide resolver PDFsharp
    /// requires needs no state of its own (<see cref="CjkFontResolver"/>).</summary>
    public string? FamilyName { get; }

    /// <summary>Null when <paramref name="path"/> is a readable TrueType font or a collection whose first face is one; else why not.</summary>
    public static string? Check(string path)
    {
        try
        {
            if (!File.Exists(path)) return $"'{path}' does not exist";
            Span<byte> head = stackalloc byte[16];
            using var f = File.OpenRead(path);
            if (f.ReadAtLeast(head, 16, throwOnEndOfStream: false) < 16) return $"'{path}' is not a font file";
            uint tag = BinaryPrimitives.ReadUInt32BigEndian(head);
            if (tag == 0x74746366) // 'ttcf': a collection; the first face's table directory is at the first offset.
            {
                uint offset = BinaryPrimitives.ReadUInt32BigEndian(head[12..]);
                if (offset >= f.Length - 4) return $"'{path}' is a damaged font collection";
                f.Position = offset;
                if (f.ReadAtLeast(head[..4], 4, throwOnEndOfStream: false) < 4) return $"'{path}' is a damaged font collection";
                tag = BinaryPrimitives.ReadUInt32BigEndian(head);
            }
            return tag switch
            {
                0x00010000 or 0x74727565 => null, // TrueType outlines ('true' on old Apple fonts)
                0x4F54544F => $"'{path}' has CFF (PostScript) outlines, which PDFsharp cannot embed; use a TrueType CJK font such as fonts-wqy-microhei",
                _ => $"'{path}' is not a TrueType font (.ttf/.ttc)",
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"'{path}' cannot be read ({ex.GetType().Name})";
        }
    }
}

/// <summary>PDFsharp 6 finds no fonts on Linux by itself and takes one resolver for the whole process
/// (<see cref="GlobalFontSettings.FontResolver"/>, a static of the library). So this resolver is stateless: the family
/// name carries the font file's path (<see cref="CjkFont.FamilyName"/>), and PDFsharp caches the bytes per face.
/// Bold is simulated (the CJK fonts have one weight). Any other family resolves to the same face, so no text is lost.</summary>
public sealed class CjkFontResolver : IFontResolver
{
    public const string FamilyPrefix = "qc-cjk:";
    private static readonly Lock Gate = new();

    /// <summary>Installs this resolver unless one is installed already (PDFsharp allows one per process).</summary>
    public static void Install()
    {
        lock (Gate)
        {
            if (GlobalFontSettings.FontResolver is null) GlobalFontSettings.FontResolver = new CjkFontResolver();
        }
    }

    public FontResolverInfo? ResolveTypeface(string familyName, bool bold, bool italic)
    {
        if (!familyName.StartsWith(FamilyPrefix, StringComparison.Ordinal)) return null;
        return new FontResolverInfo(familyName, bold, italic);
    }

    public byte[]? GetFont(string faceName) =>
        faceName.StartsWith(FamilyPrefix, StringComparison.Ordinal) ? FirstFace(File.ReadAllBytes(faceName[FamilyPrefix.Length..])) : null;

    /// <summary>A TrueType collection's first face as a stand-alone font file (PDFsharp 6.2 reads single fonts only; the
    /// Debian CJK fonts are collections). Tables are copied as they are, 4-byte aligned, with their offsets rewritten
    /// (OpenType spec, "Font Collections" and "Table Directory"). A single font is returned unchanged.</summary>
    internal static byte[] FirstFace(byte[] file)
    {
        ReadOnlySpan<byte> f = file;
        if (f.Length < 16 || BinaryPrimitives.ReadUInt32BigEndian(f) != 0x74746366) return file;
        int face = checked((int)BinaryPrimitives.ReadUInt32BigEndian(f[12..]));
        int tables = BinaryPrimitives.ReadUInt16BigEndian(f[(face + 4)..]);
        int directory = 12 + 16 * tables;
        long size = directory;
        for (int i = 0; i < tables; i++)
            size += (BinaryPrimitives.ReadUInt32BigEndian(f[(face + 12 + 16 * i + 12)..]) + 3) & ~3u;
        var output = new byte[size];
        f.Slice(face, directory).CopyTo(output);
        int at = directory;
        for (int i = 0; i < tables; i++)
        {
            var record = output.AsSpan(12 + 16 * i, 16);
            int offset = checked((int)BinaryPrimitives.ReadUInt32BigEndian(record[8..]));
            int length = checked((int)BinaryPrimitives.ReadUInt32BigEndian(record[12..]));
            f.Slice(offset, length).CopyTo(output.AsSpan(at));
            BinaryPrimitives.WriteUInt32BigEndian(record[8..], (uint)at);
            at += (length + 3) & ~3;
        }
        return output;
    }
}
