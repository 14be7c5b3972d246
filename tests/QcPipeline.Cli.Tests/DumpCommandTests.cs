using System.Text.RegularExpressions;

namespace QcPipeline.Cli.Tests;

public class DumpCommandTests
{
    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public void Dump_prints_meta_then_dataset_with_the_patient_name()
    {
        var r = CliRunner.Run("dump", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Error);
        var lines = Lines(r.Out);
        int meta = Array.IndexOf(lines, "# File Meta Information");
        int dataset = Array.IndexOf(lines, "# Dataset");
        Assert.True(meta == 0 && dataset > meta, r.Out);
        Assert.Contains(lines, l => l.StartsWith("(0002,0010) UI [1.2.840.10008.1.2.1]", StringComparison.Ordinal));
        var name = Assert.Single(lines, l => l.StartsWith("(0010,0010)", StringComparison.Ordinal));
        Assert.Matches(@"^\(0010,0010\) PN \[CompressedSamples\^CT1\] +#  22, 1", name);
    }

    [Fact]
    public void Binary_values_are_numbers_and_long_ones_are_cut()
    {
        var r = CliRunner.Run("dump", CliRunner.Pydicom("CT_small.dcm"));
        var lines = Lines(r.Out);
        Assert.Matches(@"^\(0028,0010\) US 128 +#   2, 1", Assert.Single(lines, l => l.StartsWith("(0028,0010)", StringComparison.Ordinal)));
        var pixels = Assert.Single(lines, l => l.StartsWith("(7FE0,0010)", StringComparison.Ordinal));
        Assert.Matches(@"^\(7FE0,0010\) OW [0-9a-f]{4}(\\[0-9a-f]{4})+.*\.\.\. +# 32768, 1", pixels);
        var value = pixels["(7FE0,0010) OW ".Length..pixels.IndexOf("...", StringComparison.Ordinal)];
        Assert.Equal(64, value.Length);
    }

    [Fact]
    public void Max_value_length_zero_prints_whole_values_and_a_small_limit_cuts_text()
    {
        var whole = CliRunner.Run("dump", "--max-value-length", "0", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Contains(Lines(whole.Out), l => l.StartsWith("(7FE0,0010)", StringComparison.Ordinal) && !l.Contains("...", StringComparison.Ordinal));

        var cut = CliRunner.Run("dump", "--max-value-length", "5", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Contains(Lines(cut.Out), l => l.StartsWith("(0010,0010) PN [Compr...]", StringComparison.Ordinal));
    }

    [Fact]
    public void Nested_sequences_are_indented_under_item_markers()
    {
        // test-SR.dcm (explicit VR LE) nests (0040,A360) > (0008,1115) > (0008,1199) > (0008,1150).
        var r = CliRunner.Run("dump", CliRunner.Pydicom("test-SR.dcm"));
        Assert.Equal(0, r.ExitCode);
        var lines = Lines(r.Out);
        int outer = Array.FindIndex(lines, l => l.StartsWith("(0040,A360) SQ (Sequence with 1 item)", StringComparison.Ordinal));
        Assert.True(outer >= 0, r.Out);
        Assert.StartsWith("  (FFFE,E000) na (Item 1 of 1", lines[outer + 1], StringComparison.Ordinal);
        Assert.StartsWith("    (0008,1115) SQ (Sequence with 1 item)", lines[outer + 2], StringComparison.Ordinal);
        Assert.StartsWith("      (FFFE,E000) na (Item 1 of 1", lines[outer + 3], StringComparison.Ordinal);
        Assert.StartsWith("        (0008,1199) SQ", lines[outer + 4], StringComparison.Ordinal);
        Assert.StartsWith("          (FFFE,E000) na", lines[outer + 5], StringComparison.Ordinal);
        Assert.StartsWith("            (0008,1150) UI [1.2.840.10008.5.1.4.1.1.88.33]", lines[outer + 6], StringComparison.Ordinal);
    }

    [Fact]
    public void Text_in_items_goes_through_the_character_set()
    {
        // test-SR.dcm declares ISO_IR 100; the verifying observer's name has a Latin-1 'ö'.
        var r = CliRunner.Run("dump", CliRunner.Pydicom("test-SR.dcm"));
        Assert.Contains(Lines(r.Out), l => l.TrimStart().StartsWith("(0040,A075) PN [Riesmeier^Jörg]", StringComparison.Ordinal));
    }

    [Fact]
    public void Implicit_VR_file_dumps_its_patient_name()
    {
        var r = CliRunner.Run("dump", CliRunner.Pydicom("MR_small_implicit.dcm"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("# Transfer syntax: Implicit VR Little Endian (1.2.840.10008.1.2)", r.Out, StringComparison.Ordinal);
        Assert.Contains(Lines(r.Out), l => l.StartsWith("(0010,0010) PN [CompressedSamples^MR1]", StringComparison.Ordinal));
    }

    [Fact]
    public void Implicit_VR_file_with_sequences_dumps()
    {
        // rtplan.dcm is implicit VR: the dictionary names the VRs, so its sequences print as SQ with items, with keywords.
        var r = CliRunner.Run("dump", CliRunner.Pydicom("rtplan.dcm"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(Lines(r.Out), l => l.StartsWith("(0010,0010) PN [Last^First^mid^pre]", StringComparison.Ordinal) && l.EndsWith("PatientName", StringComparison.Ordinal));
        Assert.Contains(Lines(r.Out), l => l.StartsWith("(300A,00B0) SQ (Sequence with ", StringComparison.Ordinal) && l.EndsWith("BeamSequence", StringComparison.Ordinal));
        Assert.Contains(Lines(r.Out), l => l.TrimStart().StartsWith("(FFFE,E000) na (Item 1 of", StringComparison.Ordinal));
    }

    [Fact]
    public void Encapsulated_pixel_data_lists_offset_table_and_fragments()
    {
        var r = CliRunner.Run("dump", CliRunner.Pydicom("JPEG2000.dcm"));
        Assert.Equal(0, r.ExitCode);
        var lines = Lines(r.Out);
        int pixel = Array.FindIndex(lines, l => l.StartsWith("(7FE0,0010) OB (PixelSequence with 1 fragment)", StringComparison.Ordinal));
        Assert.True(pixel >= 0, r.Out);
        Assert.Contains("# u/l, 1", lines[pixel], StringComparison.Ordinal);
        Assert.StartsWith("  (FFFE,E000) pi (Basic Offset Table, empty)", lines[pixel + 1], StringComparison.Ordinal);
        // A JPEG 2000 codestream starts with SOC FF4F, SIZ FF51 (ISO/IEC 15444-1 Annex A).
        Assert.Matches(@"^  \(FFFE,E000\) pi ff\\4f\\ff\\51\\", lines[pixel + 2]);
    }

    [Fact]
    public void Header_only_stops_before_the_pixel_data()
    {
        var r = CliRunner.Run("dump", "--header-only", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain(Lines(r.Out), l => l.StartsWith("(7FE0,0010)", StringComparison.Ordinal));
        Assert.Contains("# Pixel data not read (header only)", r.Out, StringComparison.Ordinal);
        Assert.Contains(Lines(r.Out), l => l.StartsWith("(0010,0010) PN [CompressedSamples^CT1]", StringComparison.Ordinal));
    }

    [Fact]
    public void No_keywords_leaves_only_length_and_multiplicity()
    {
        var r = CliRunner.Run("dump", "--no-keywords", CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(0, r.ExitCode);
        foreach (var line in Lines(r.Out).Where(l => l.StartsWith('(')))
            Assert.Matches(new Regex(@"# +(\d+|-|u/l), \d+$"), line);
    }

    [Fact]
    public void Broken_file_is_reported_and_the_other_files_still_dumped()
    {
        var r = CliRunner.Run("dump", CliRunner.Pydicom("MR_truncated.dcm"), CliRunner.Pydicom("CT_small.dcm"));
        Assert.Equal(1, r.ExitCode);
        var error = Assert.Single(Lines(r.Error));
        Assert.StartsWith($"qc: {CliRunner.Pydicom("MR_truncated.dcm")}: value length 8192 exceeds", error, StringComparison.Ordinal);
        Assert.Contains("(tag (7FE0,0010), offset 1488)", error, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", r.Error, StringComparison.Ordinal); // no stack trace
        Assert.Contains($"# File: {CliRunner.Pydicom("CT_small.dcm")}", r.Out, StringComparison.Ordinal);
        Assert.Contains("CompressedSamples^CT1", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_exit_1_with_a_message()
    {
        var r = CliRunner.Run("dump", "/nonexistent/qc-test.dcm");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("qc: /nonexistent/qc-test.dcm: no such file", r.Error.Trim());
    }
}
