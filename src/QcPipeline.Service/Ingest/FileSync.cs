using System.Runtime.InteropServices;

namespace QcPipeline.Service.Ingest;

/// <summary>fsync of directories: a rename or a new directory entry is durable only when the directory itself is synced
/// (POSIX; .NET has no API for it). No-op where the platform has no such call.</summary>
internal static partial class FileSync
{
    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000; // Linux x86-64/arm64

    public static void SyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(path, O_RDONLY | O_DIRECTORY);
        if (fd < 0) throw new IOException($"cannot open directory for fsync (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                // EINVAL: the file system does not support syncing directories (some FUSE/tmpfs variants): nothing to do.
                if (errno != 22) throw new IOException($"fsync of a directory failed (errno {errno})", errno);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Creates <paramref name="dir"/> and any missing parents below <paramref name="root"/>, syncing the parent of
    /// each one created, so the new entries survive a crash. Returns whether anything was created.</summary>
    public static bool CreateDirectoryDurably(string root, string dir, bool fsync)
    {
        if (Directory.Exists(dir)) return false;
        var missing = new Stack<string>();
        for (var d = dir; !Directory.Exists(d); d = Path.GetDirectoryName(d)!)
        {
            if (d.Length <= root.Length) break;
            missing.Push(d);
        }
        Directory.CreateDirectory(dir);
        if (fsync)
        {
            foreach (var created in missing) SyncDirectory(Path.GetDirectoryName(created)!);
        }
        return true;
    }

    private const uint SYNC_FILE_RANGE_WRITE = 2;

    /// <summary>Starts writeback of a byte range without waiting for it (Linux sync_file_range with WRITE only), so the
    /// fsync at the end of a transfer finds most of the file already on its way to the disk. Not a durability
    /// guarantee by itself (it writes no metadata and waits for nothing); failures are ignored for the same reason.</summary>
    public static void StartWriteback(SafeHandle file, long offset, long count)
    {
        if (!OperatingSystem.IsLinux() || count <= 0) return;
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            _ = SyncFileRange((int)file.DangerousGetHandle(), offset, count, SYNC_FILE_RANGE_WRITE);
        }
        finally
        {
            if (added) file.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long nbytes, uint flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
