namespace QcPipeline.Dicom.Tests;

/// <summary>Locations of the real files written by others that the tests read (Debian packages, see scripts/test.sh).</summary>
public static class TestFiles
{
    public const string PydicomTestFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
    public const string PydicomCharsetFiles = "/usr/lib/python3/dist-packages/pydicom/data/charset_files";

    public static string Pydicom(string name) => Path.Combine(PydicomTestFiles, name);

    /// <summary>The repository root (the folder holding QcPipeline.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "QcPipeline.sln"))) return d.FullName;
            throw new DirectoryNotFoundException("QcPipeline.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A fresh temporary folder that is deleted when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public TempDir() { Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "qc-test-" + Guid.NewGuid().ToString("N")); Directory.CreateDirectory(Path); }
        public string Path { get; }
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
    }
}
