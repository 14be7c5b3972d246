using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Tests.Fuzz;

namespace QcPipeline.Dicom.Tests.Bugs;

/// <summary>One minimal input per bug the fuzz tests found (files in Bugs/files, copied to the output folder).
/// Each is also part of the fuzz corpus.</summary>
public class BugRegressionTests
{
    public static string File(string name) => Path.Combine(AppContext.BaseDirectory, "Bugs", "files", name);

    /// <summary>bug-001: a header-only read of a file whose sequence item holds encapsulated Pixel Data threw
    /// InvalidOperationException while moving the values out of the pooled buffer.</summary>
    [Fact]
    public void Bug001_header_only_read_with_encapsulated_pixel_data_nested_in_an_item()
    {
        var path = File("bug-001-headeronly-nested-encapsulated-pixeldata.dcm");
        using var f = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        Assert.True(f.PixelDataOffset > 0);
        var nested = f.Dataset.GetSequence(new DicomTag(0x00400275))!.Items[0][new DicomTag(0x7FE00010)];
        var frag = Assert.IsType<DicomFragmentSequence>(nested);
        // The fragment must refer to the header copy, not to the pooled buffer that was returned (and reused).
        using (DicomFile.Open(TestFiles.Pydicom("CT_small.dcm"), DicomReadOptions.HeaderOnly)) { }
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, frag.Fragments[0].ToArray());
        using var stream = System.IO.File.OpenRead(path);
        using var viaStream = DicomFile.Read(stream, DicomReadOptions.HeaderOnly);
        Assert.Equal(f.PixelDataOffset, viaStream.PixelDataOffset);
    }

    /// <summary>bug-002: with MaxSequenceDepth raised, nesting deeper than the thread's stack crashed the process
    /// (StackOverflow cannot be caught). Now a format error names the sequence and offset.</summary>
    [Fact]
    public void Bug002_nesting_deeper_than_the_stack_is_a_format_error()
    {
        var bytes = System.IO.File.ReadAllBytes(File("bug-002-deep-nesting-beyond-the-stack.dcm"));
        var options = new DicomReadOptions { MaxSequenceDepth = 1_000_000 };
        Exception? caught = null;
        DicomFile? parsed = null;
        var t = new Thread(() =>
        {
            try { parsed = DicomFile.Read(bytes, options); }
            catch (Exception ex) { caught = ex; }
        }, maxStackSize: 256 * 1024);
        t.Start();
        t.Join();
        if (parsed is not null) { parsed.Dispose(); return; } // a stack this large on some runtime: fine too
        var ex = Assert.IsType<DicomFormatException>(caught);
        Assert.Equal(new DicomTag(0x00400275), ex.Tag);
        Assert.True(ex.Offset > 0);
        // With the default limit: rejected at depth 64.
        Assert.Contains("nested deeper than 64", Assert.Throws<DicomFormatException>(() => DicomFile.Read(bytes)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bug_file_passes_the_fuzz_contract()
    {
        using var h = new FuzzHarness("bugs");
        foreach (var path in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Bugs", "files"), "*.dcm"))
            h.Check(System.IO.File.ReadAllBytes(path), Path.GetFileName(path), viaFile: true);
        h.AssertClean();
    }
}

/// <summary>bug-003 (found by the benchmark's CT generator, not an input file): setting a binary number
/// (US, SS, UL, SL, FL, FD) through AddOrUpdate(tag, vr, int/double) recursed until the stack overflowed.</summary>
public class Bug003NumberSettersTests
{
    [Fact]
    public void Binary_number_setters_store_the_value()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomTag(0x00280010), DicomVR.US, 512);
        ds.AddOrUpdate(new DicomTag(0x00280106), DicomVR.SS, -5);
        ds.AddOrUpdate(new DicomTag(0x00181150), DicomVR.UL, 70000);
        ds.AddOrUpdate(new DicomTag(0x00189219), DicomVR.SL, -70000);
        ds.AddOrUpdate(new DicomTag(0x00189305), DicomVR.FD, 0.5);
        ds.AddOrUpdate(new DicomTag(0x00189306), DicomVR.FL, 1.5);
        ds.AddOrUpdate(new DicomTag(0x00280011), DicomVR.US, (ushort)256); // ushort binds to the int overload
        Assert.Equal(512, ds.GetInt32OrDefault(new DicomTag(0x00280010)));
        Assert.Equal(-5, ds.GetInt32OrDefault(new DicomTag(0x00280106)));
        Assert.Equal(70000, ds.GetInt32OrDefault(new DicomTag(0x00181150)));
        Assert.Equal(-70000, ds.GetInt32OrDefault(new DicomTag(0x00189219)));
        Assert.Equal(0.5, ds.GetDoubleOrDefault(new DicomTag(0x00189305)));
        Assert.Equal(1.5, ds.GetDoubleOrDefault(new DicomTag(0x00189306)));
        Assert.Equal(256, ds.GetInt32OrDefault(new DicomTag(0x00280011)));
        Assert.Equal(2, ds.GetElement(new DicomTag(0x00280010))!.Length);
        Assert.Equal(8, ds.GetElement(new DicomTag(0x00189305))!.Length);
    }
}
