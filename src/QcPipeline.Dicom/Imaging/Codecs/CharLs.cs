using System.Runtime.InteropServices;

namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>Function pointers into the CharLS 2.x C API (charls_jpegls_decoder_*), loaded on first use.</summary>
internal static unsafe class CharLs
{
    public const string LibraryName = "libcharls.so.2";
    private static readonly string[] Candidates = [LibraryName, "libcharls.so", "charls", "charls-2-x64"];

    [StructLayout(LayoutKind.Sequential)]
    public struct FrameInfoNative
    {
        public uint Width;
        public uint Height;
        public int BitsPerSample;
        public int ComponentCount;
    }

    public static readonly delegate* unmanaged[Cdecl]<nint> Create;
    public static readonly delegate* unmanaged[Cdecl]<nint, void> Destroy;
    public static readonly delegate* unmanaged[Cdecl]<nint, byte*, nuint, int> SetSourceBuffer;
    public static readonly delegate* unmanaged[Cdecl]<nint, int> ReadHeader;
    public static readonly delegate* unmanaged[Cdecl]<nint, FrameInfoNative*, int> GetFrameInfo;
    public static readonly delegate* unmanaged[Cdecl]<nint, int*, int> GetInterleaveMode;
    public static readonly delegate* unmanaged[Cdecl]<nint, uint, nuint*, int> GetDestinationSize;
    public static readonly delegate* unmanaged[Cdecl]<nint, byte*, nuint, uint, int> DecodeToBuffer;
    public static readonly delegate* unmanaged[Cdecl]<int, byte*> GetErrorMessage;

    /// <summary>Null when the library and all exports are available; otherwise why not.</summary>
    public static readonly string? LoadError;

#pragma warning disable CA1810 // explicit static constructor: the exports are resolved together
    static CharLs()
#pragma warning restore CA1810
    {
        nint library = NativeLibraryLoader.TryLoad(Candidates, out LoadError);
        if (library == 0) return;
        string[] names =
        [
            "charls_jpegls_decoder_create", "charls_jpegls_decoder_destroy", "charls_jpegls_decoder_set_source_buffer",
            "charls_jpegls_decoder_read_header", "charls_jpegls_decoder_get_frame_info", "charls_jpegls_decoder_get_interleave_mode",
            "charls_jpegls_decoder_get_destination_size", "charls_jpegls_decoder_decode_to_buffer", "charls_get_error_message",
        ];
        var p = new nint[names.Length];
        if (!NativeLibraryLoader.TryGetExports(library, LibraryName, names, p, out LoadError)) return;
        Create = (delegate* unmanaged[Cdecl]<nint>)p[0];
        Destroy = (delegate* unmanaged[Cdecl]<nint, void>)p[1];
        SetSourceBuffer = (delegate* unmanaged[Cdecl]<nint, byte*, nuint, int>)p[2];
        ReadHeader = (delegate* unmanaged[Cdecl]<nint, int>)p[3];
        GetFrameInfo = (delegate* unmanaged[Cdecl]<nint, FrameInfoNative*, int>)p[4];
        GetInterleaveMode = (delegate* unmanaged[Cdecl]<nint, int*, int>)p[5];
        GetDestinationSize = (delegate* unmanaged[Cdecl]<nint, uint, nuint*, int>)p[6];
        DecodeToBuffer = (delegate* unmanaged[Cdecl]<nint, byte*, nuint, uint, int>)p[7];
        GetErrorMessage = (delegate* unmanaged[Cdecl]<int, byte*>)p[8];
    }

    public static string Describe(int error)
    {
        byte* message = GetErrorMessage(error);
        string? text = message == null ? null : Marshal.PtrToStringUTF8((nint)message);
        return $"CharLS error {error}{(string.IsNullOrEmpty(text) ? "" : ": " + text)}";
    }
}
