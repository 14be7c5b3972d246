using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>Function pointers into OpenJPEG 2.x (libopenjp2.so.7), loaded on first use, and a memory stream for it.</summary>
internal static unsafe class OpenJpeg
{
    public const string LibraryName = "libopenjp2.so.7";
    private static readonly string[] Candidates = [LibraryName, "libopenjp2.so", "openjp2"];

    public const int CodecJ2K = 0;
    public const int CodecJP2 = 2;

    /// <summary>opj_image_t (openjpeg.h, 2.x).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Image
    {
        public uint X0, Y0, X1, Y1;
        public uint NumComps;
        public int ColorSpace;
        public ImageComponent* Comps;
        public byte* IccProfile;
        public uint IccProfileLength;
    }

    /// <summary>opj_image_comp_t (openjpeg.h, 2.x; bpp is deprecated but still present).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ImageComponent
    {
        public uint Dx, Dy, W, H, X0, Y0, Prec, Bpp, Sgnd, ResnoDecoded, Factor;
        public int* Data;
        public ushort Alpha;
    }

    /// <summary>The user data of our input stream: a pinned buffer and a read position.</summary>
    public struct MemoryStream
    {
        public byte* Data;
        public long Length;
        public long Position;
    }

    public static readonly delegate* unmanaged[Cdecl]<int, nint> CreateDecompress;
    public static readonly delegate* unmanaged[Cdecl]<void*, void> SetDefaultDecoderParameters;
    public static readonly delegate* unmanaged[Cdecl]<nint, void*, int> SetupDecoder;
    public static readonly delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<byte*, void*, void>, void*, int> SetErrorHandler;
    public static readonly delegate* unmanaged[Cdecl]<nuint, int, nint> StreamCreate;
    public static readonly delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<void*, nuint, void*, nuint>, void> StreamSetRead;
    public static readonly delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<long, void*, long>, void> StreamSetSkip;
    public static readonly delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<long, void*, int>, void> StreamSetSeek;
    public static readonly delegate* unmanaged[Cdecl]<nint, void*, void*, void> StreamSetUserData;
    public static readonly delegate* unmanaged[Cdecl]<nint, ulong, void> StreamSetUserDataLength;
    public static readonly delegate* unmanaged[Cdecl]<nint, nint, Image**, int> ReadHeader;
    public static readonly delegate* unmanaged[Cdecl]<nint, nint, Image*, int> DecodeImage;
    public static readonly delegate* unmanaged[Cdecl]<nint, nint, int> EndDecompress;
    public static readonly delegate* unmanaged[Cdecl]<Image*, void> ImageDestroy;
    public static readonly delegate* unmanaged[Cdecl]<nint, void> StreamDestroy;
    public static readonly delegate* unmanaged[Cdecl]<nint, void> DestroyCodec;

    /// <summary>Null when the library and all exports are available; otherwise why not.</summary>
    public static readonly string? LoadError;

    [ThreadStatic] private static string? s_lastError;

#pragma warning disable CA1810 // explicit static constructor: the exports are resolved together
    static OpenJpeg()
#pragma warning restore CA1810
    {
        nint library = NativeLibraryLoader.TryLoad(Candidates, out LoadError);
        if (library == 0) return;
        string[] names =
        [
            "opj_create_decompress", "opj_set_default_decoder_parameters", "opj_setup_decoder", "opj_set_error_handler",
            "opj_stream_create", "opj_stream_set_read_function", "opj_stream_set_skip_function", "opj_stream_set_seek_function",
            "opj_stream_set_user_data", "opj_stream_set_user_data_length", "opj_read_header", "opj_decode",
            "opj_end_decompress", "opj_image_destroy", "opj_stream_destroy", "opj_destroy_codec",
        ];
        var p = new nint[names.Length];
        if (!NativeLibraryLoader.TryGetExports(library, LibraryName, names, p, out LoadError)) return;
        CreateDecompress = (delegate* unmanaged[Cdecl]<int, nint>)p[0];
        SetDefaultDecoderParameters = (delegate* unmanaged[Cdecl]<void*, void>)p[1];
        SetupDecoder = (delegate* unmanaged[Cdecl]<nint, void*, int>)p[2];
        SetErrorHandler = (delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<byte*, void*, void>, void*, int>)p[3];
        StreamCreate = (delegate* unmanaged[Cdecl]<nuint, int, nint>)p[4];
        StreamSetRead = (delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<void*, nuint, void*, nuint>, void>)p[5];
        StreamSetSkip = (delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<long, void*, long>, void>)p[6];
        StreamSetSeek = (delegate* unmanaged[Cdecl]<nint, delegate* unmanaged[Cdecl]<long, void*, int>, void>)p[7];
        StreamSetUserData = (delegate* unmanaged[Cdecl]<nint, void*, void*, void>)p[8];
        StreamSetUserDataLength = (delegate* unmanaged[Cdecl]<nint, ulong, void>)p[9];
        ReadHeader = (delegate* unmanaged[Cdecl]<nint, nint, Image**, int>)p[10];
        DecodeImage = (delegate* unmanaged[Cdecl]<nint, nint, Image*, int>)p[11];
        EndDecompress = (delegate* unmanaged[Cdecl]<nint, nint, int>)p[12];
        ImageDestroy = (delegate* unmanaged[Cdecl]<Image*, void>)p[13];
        StreamDestroy = (delegate* unmanaged[Cdecl]<nint, void>)p[14];
        DestroyCodec = (delegate* unmanaged[Cdecl]<nint, void>)p[15];
    }

    /// <summary>Last error OpenJPEG reported on this thread (cleared by <see cref="TakeLastError"/>).</summary>
    public static string? TakeLastError()
    {
        string? error = s_lastError;
        s_lastError = null;
        return error;
    }

    public static void InstallErrorHandler(nint codec) => SetErrorHandler(codec, &OnError, null);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnError(byte* message, void* client)
    {
        string? text = Marshal.PtrToStringUTF8((nint)message)?.Trim();
        s_lastError = s_lastError is null ? text : s_lastError + "; " + text;
    }

    /// <summary>Creates an input stream over <paramref name="source"/>, which must stay pinned until the stream is destroyed.</summary>
    public static nint CreateStream(MemoryStream* source)
    {
        nint stream = StreamCreate((nuint)Math.Clamp(source->Length, 1, 1 << 20), 1);
        if (stream == 0) return 0;
        StreamSetRead(stream, &Read);
        StreamSetSkip(stream, &Skip);
        StreamSetSeek(stream, &Seek);
        StreamSetUserData(stream, source, null);
        StreamSetUserDataLength(stream, (ulong)source->Length);
        return stream;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static nuint Read(void* buffer, nuint count, void* user)
    {
        var s = (MemoryStream*)user;
        long available = s->Length - s->Position;
        if (available <= 0) return nuint.MaxValue; // (OPJ_SIZE_T)-1: end of stream
        long n = count > (ulong)available ? available : (long)count;
        Buffer.MemoryCopy(s->Data + s->Position, buffer, (long)count, n);
        s->Position += n;
        return (nuint)n;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static long Skip(long count, void* user)
    {
        var s = (MemoryStream*)user;
        if (count > 0 && s->Position >= s->Length) return -1;
        long target = Math.Clamp(s->Position + count, 0, s->Length);
        long skipped = target - s->Position;
        s->Position = target;
        return skipped;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Seek(long position, void* user)
    {
        var s = (MemoryStream*)user;
        if (position < 0 || position > s->Length) return 0;
        s->Position = position;
        return 1;
    }
}
