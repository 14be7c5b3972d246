using System.Diagnostics;
using System.Text;

namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>Runs a DCMTK command-line tool (dcmdump, dcm2xml, dcmftest, dcmconv, dump2dcm, ...) as a subprocess
/// with a timeout and captures its output. Debian's DCMTK finds its data dictionary without DCMDICTPATH.</summary>
public static class Dcmtk
{
    /// <summary>What a tool run produced. <see cref="StdOutBytes"/> is the raw output (dcm2xml writes the
    /// element values in the file's own character set, so it must not be decoded blindly).</summary>
    public sealed record Result(string Tool, int ExitCode, byte[] StdOutBytes, string StdErr)
    {
        public string StdOut => Encoding.UTF8.GetString(StdOutBytes);

        /// <summary>DCMTK's own diagnostics: the "E: ..." and "W: ..." (and "F: ...") lines of stderr.</summary>
        public IReadOnlyList<string> Diagnostics =>
            StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                  .Where(l => l.StartsWith("E:", StringComparison.Ordinal) || l.StartsWith("W:", StringComparison.Ordinal) || l.StartsWith("F:", StringComparison.Ordinal))
                  .ToList();

        public override string ToString() => $"{Tool} exit {ExitCode}\n{StdErr}";
    }

    private static readonly Lazy<bool> Available = new(() =>
    {
        try { return Run("dcmdump", ["--version"], TimeSpan.FromSeconds(10)).ExitCode == 0; }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    /// <summary>DCMTK is installed (scripts/test.sh installs the Debian package).</summary>
    public static bool IsAvailable => Available.Value;

    /// <summary>Runs <paramref name="tool"/> with <paramref name="arguments"/>; kills it after <paramref name="timeout"/>
    /// (default 30 s) and throws <see cref="TimeoutException"/>.</summary>
    public static Result Run(string tool, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}");
        p.StandardInput.Close();
        using var stdout = new MemoryStream();
        var outTask = p.StandardOutput.BaseStream.CopyToAsync(stdout);
        var errTask = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(30)))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* already gone */ }
            throw new TimeoutException($"{tool} {string.Join(' ', psi.ArgumentList)} did not finish in time");
        }
        outTask.GetAwaiter().GetResult();
        var err = errTask.GetAwaiter().GetResult();
        p.WaitForExit();
        return new Result(tool, p.ExitCode, stdout.ToArray(), err);
    }

    public static Result Run(string tool, params string[] arguments) => Run(tool, arguments, null);

    /// <summary>dcmftest: true when DCMTK says the file is a Part 10 file ("yes: ...").</summary>
    public static bool IsPart10File(string path)
    {
        var r = Run("dcmftest", path);
        return r.ExitCode == 0 && r.StdOut.StartsWith("yes:", StringComparison.Ordinal);
    }
}
