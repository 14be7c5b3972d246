namespace QcPipeline.Dicom.Tests.CharacterSets;

public class BrokenCharacterSetTests
{
    [Fact]
    public void Unknown_term_decodes_leniently_and_strict_decoding_reports_it()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomTag(0x00080005), DicomVR.CS, "ISO_IR 999");
        ds.AddOrUpdate(new DicomElement(new DicomTag(0x00100010), DicomVR.PN, "Doe^John"u8.ToArray()));
        Assert.Equal("Doe^John", ds.GetString(new DicomTag(0x00100010)));
        Assert.False(ds.TryGetString(new DicomTag(0x00100010), out var value, out var problem));
        Assert.Equal("Doe^John", value);
        Assert.Contains("ISO_IR 999", problem, StringComparison.Ordinal);
        Assert.NotNull(ds.CharacterSetProblem);

        // An item without its own (0008,0005) inherits the problem.
        var item = new DicomDataset();
        item.AddOrUpdate(new DicomElement(new DicomTag(0x00100010), DicomVR.PN, "X"u8.ToArray()));
        ds.AddOrUpdate(new DicomSequence(new DicomTag(0x00081115), [item]));
        Assert.NotNull(item.CharacterSetProblem);

        // Fixing the term clears it.
        ds.AddOrUpdate(new DicomTag(0x00080005), DicomVR.CS, "ISO_IR 100");
        Assert.Null(ds.CharacterSetProblem);
        Assert.True(ds.TryGetString(new DicomTag(0x00100010), out _, out _));
        Assert.Null(item.CharacterSetProblem);
        Assert.Equal("ISO_IR 100", item.CharacterSet.Terms[0]);
    }
}
