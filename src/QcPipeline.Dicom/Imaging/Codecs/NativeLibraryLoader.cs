using System.Runtime.InteropServices;

namespace QcPipeline.Dicom.Imaging.Codecs;

/// <summary>Loads an optional native library and its exports without ever throwing.</summary>
internal static class NativeLibraryLoader
{
    /// <summary>Tries each candidate name; returns the handle or the reason ("libx.so.N not found").</summary>
    public static nint TryLoad(string[] candidates, out string? error)
    {
        foreach (string name in candidates)
        {
            if (NativeLibrary.TryLoad(name, typeof(NativeLibraryLoader).Assembly, null, out nint handle))
            {
                error = null;
                return handle;
            }
        }
        error = $"{candidates[0]} not found";
        return 0;
    }

    /// <summary>Resolves the exports in order; on the first missing one returns false with the reason.</summary>
    public static bool TryGetExports(nint library, string libraryName, string[] names, nint[] addresses, out string? error)
    {
        for (int i = 0; i < names.Length; i++)
        {
            if (!NativeLibrary.TryGetExport(library, names[i], out addresses[i]))
            {
                error = $"{libraryName} has no export {names[i]}";
                return false;
            }
        }
        error = null;
        return true;
    }
}
