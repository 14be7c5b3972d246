using System.Diagnostics;
using QcPipeline.Dicom;

namespace QcPipeline.Dicom.Tests.Dictionary;

public class DictionaryTests
{
    [Fact]
    public void PatientName_is_PN_VM_1()
    {
        var e = DicomDictionary.Lookup(new DicomTag(0x0010, 0x0010));
        Assert.NotNull(e);
        Assert.Equal("PatientName", e.Keyword);
        Assert.Equal("Patient's Name", e.Name);
        Assert.Equal(DicomVR.PN, e.VR);
        Assert.Equal(DicomVR.None, e.AlternateVR);
        Assert.Equal("1", e.VM);
        Assert.False(e.Retired);
        Assert.Equal(uint.MaxValue, e.Mask);
        Assert.Equal(new DicomTag(0x00100010), DicomTags.PatientName);
    }

    [Fact]
    public void PixelData_is_OW_with_OB_alternate()
    {
        var e = DicomDictionary.Lookup(DicomTags.PixelData);
        Assert.NotNull(e);
        Assert.Equal(new DicomTag(0x7FE0, 0x0010), e.Tag);
        Assert.Equal(DicomVR.OW, e.VR);
        Assert.Equal(DicomVR.OB, e.AlternateVR);
        Assert.Equal(DicomVR.OW, DicomDictionary.GetDefaultVR(DicomTags.PixelData));
    }

    [Theory]
    [InlineData(0x6000)]
    [InlineData(0x6002)]
    [InlineData(0x601E)]
    [InlineData(0x60FE)]
    public void OverlayData_repeating_group(int group)
    {
        var e = DicomDictionary.Lookup(new DicomTag((ushort)group, 0x3000));
        Assert.NotNull(e);
        Assert.Equal("OverlayData", e.Keyword);
        Assert.Equal(0xFF00FFFFu, e.Mask);
        Assert.Equal(new DicomTag(0x6000, 0x3000), e.Tag);
        Assert.Equal(DicomVR.OW, e.VR);
        Assert.Equal(DicomVR.OB, e.AlternateVR);
        Assert.False(e.Retired);
        Assert.Equal(DicomTags.OverlayData, e.Tag);
    }

    [Fact]
    public void Odd_overlay_group_is_private_not_overlay()
    {
        Assert.Null(DicomDictionary.Lookup(new DicomTag(0x6001, 0x3000)));
        Assert.Equal(DicomVR.UN, DicomDictionary.GetDefaultVR(new DicomTag(0x6001, 0x3000)));
    }

    [Fact]
    public void Element_range_and_nibble_patterns()
    {
        Assert.Equal("SourceImageIDs", DicomDictionary.GetKeyword(new DicomTag(0x0020, 0x31A5)));
        Assert.Equal("RowsForNthOrderCoefficients", DicomDictionary.GetKeyword(new DicomTag(0x0028, 0x0430)));
        Assert.Equal("EscapeTriplet", DicomDictionary.GetKeyword(new DicomTag(0x1000, 0x1230)));
        Assert.Equal("ZonalMap", DicomDictionary.GetKeyword(new DicomTag(0x1010, 0x0123)));
        // an exact entry inside a pattern wins: (0028,0400) is Transform Label, not (0028,04x0)
        Assert.Equal("TransformLabel", DicomDictionary.GetKeyword(new DicomTag(0x0028, 0x0400)));
        // (7FE0,0010) is Pixel Data, not the retired (7Fxx,0010) Variable Pixel Data
        Assert.Equal("PixelData", DicomDictionary.GetKeyword(new DicomTag(0x7FE0, 0x0010)));
        Assert.Equal("VariablePixelData", DicomDictionary.GetKeyword(new DicomTag(0x7F20, 0x0010)));
    }

    [Fact]
    public void SmallestImagePixelValue_xs_is_US_or_SS()
    {
        var e = DicomDictionary.Lookup(new DicomTag(0x0028, 0x0106));
        Assert.NotNull(e);
        Assert.Equal("SmallestImagePixelValue", e.Keyword);
        Assert.Equal(DicomVR.US, e.VR);
        Assert.Equal(DicomVR.SS, e.AlternateVR);
    }

    [Fact]
    public void Pseudo_VRs_lt_up_na()
    {
        var lut = DicomDictionary.Lookup(new DicomTag(0x0028, 0x3006));
        Assert.NotNull(lut);
        Assert.Equal((DicomVR.OW, DicomVR.US), (lut.VR, lut.AlternateVR));
        Assert.Equal(DicomVR.UL, DicomDictionary.GetDefaultVR(new DicomTag(0x0004, 0x1200)));
        var item = DicomDictionary.Lookup(DicomTag.Item);
        Assert.NotNull(item);
        Assert.Equal("Item", item.Keyword);
        Assert.Equal(DicomVR.None, item.VR);
        Assert.Equal(DicomTag.SequenceDelimitationItem, DicomTags.SequenceDelimitationItem);
    }

    [Fact]
    public void Retired_tag()
    {
        var e = DicomDictionary.Lookup(new DicomTag(0x0008, 0x0040));
        Assert.NotNull(e);
        Assert.Equal("DataSetType", e.Keyword);
        Assert.True(e.Retired);
        Assert.Equal(DicomVR.US, e.VR);
        Assert.True(DicomDictionary.Lookup(new DicomTag(0x6000, 0x4000))!.Retired); // Overlay Comments
    }

    [Fact]
    public void Group_length_private_creator_and_unknown()
    {
        Assert.Equal("CommandGroupLength", DicomDictionary.GetKeyword(new DicomTag(0x0000, 0x0000)));
        Assert.Equal("FileMetaInformationGroupLength", DicomDictionary.GetKeyword(new DicomTag(0x0002, 0x0000)));

        var gl = DicomDictionary.Lookup(new DicomTag(0x0028, 0x0000));
        Assert.Same(DicomDictionary.GroupLength, gl);
        Assert.Equal(DicomVR.UL, gl!.VR);
        Assert.Same(DicomDictionary.GroupLength, DicomDictionary.Lookup(new DicomTag(0x0009, 0x0000)));

        var pc = DicomDictionary.Lookup(new DicomTag(0x0029, 0x0010));
        Assert.Same(DicomDictionary.PrivateCreator, pc);
        Assert.Equal(DicomVR.LO, pc!.VR);
        Assert.Same(DicomDictionary.PrivateCreator, DicomDictionary.Lookup(new DicomTag(0x0009, 0x00FF)));

        Assert.Null(DicomDictionary.Lookup(new DicomTag(0x0029, 0x1010)));   // private data element
        Assert.Null(DicomDictionary.Lookup(new DicomTag(0x0029, 0x0005)));   // private, below the creator block
        Assert.Null(DicomDictionary.Lookup(new DicomTag(0x0010, 0xFFF0)));   // unknown public
        Assert.Equal(DicomVR.UN, DicomDictionary.GetDefaultVR(new DicomTag(0x0029, 0x1010)));
        Assert.Equal("", DicomDictionary.GetKeyword(new DicomTag(0x0010, 0xFFF0)));
    }

    [Fact]
    public void Keyword_round_trip_for_every_entry()
    {
        foreach (var e in DicomDictionary.Entries)
        {
            Assert.True(DicomDictionary.TryGetTag(e.Keyword, out var tag), e.Keyword);
            Assert.Equal(e.Tag, tag);
            Assert.True(e.Matches(tag), e.Keyword);
            if (!e.IsRepeating)
            {
                Assert.Same(e, DicomDictionary.Lookup(tag));
            }
            else
            {
                Assert.Equal(e.Keyword, DicomDictionary.GetKeyword(tag));
            }
        }
        Assert.False(DicomDictionary.TryGetTag("NoSuchKeyword", out _));
        Assert.False(DicomDictionary.TryGetTag("patientname", out _));
        Assert.False(DicomDictionary.TryGetTag(null!, out _));
    }

    [Fact]
    public void Keywords_are_unique_and_names_filled()
    {
        var entries = DicomDictionary.Entries;
        Assert.Equal(entries.Length, entries.Select(e => e.Keyword).Distinct(StringComparer.Ordinal).Count());
        Assert.All(entries, e => Assert.False(string.IsNullOrWhiteSpace(e.Name)));
        Assert.All(entries, e => Assert.False(string.IsNullOrWhiteSpace(e.VM)));
        Assert.All(entries, e => Assert.True(e.VR == DicomVR.None || DicomVRInfo.IsKnown(e.VR), e.Keyword));
    }

    [Fact]
    public void Counts()
    {
        Assert.True(DicomDictionary.Entries.Length > 4000, $"{DicomDictionary.Entries.Length} entries");
        Assert.Equal(DicomDictionary.GeneratedEntryCount, DicomDictionary.Entries.Length);
        Assert.True(DicomUids.All.Length > 300, $"{DicomUids.All.Length} UIDs");
        Assert.Equal(DicomUids.GeneratedUidCount, DicomUids.All.Length);
    }

    [Fact]
    public void Uid_constants()
    {
        Assert.Equal("1.2.840.10008.5.1.4.1.1.2", DicomUids.CTImageStorage);
        Assert.Equal("1.2.840.10008.5.1.4.1.1.1.1.1", DicomUids.DigitalXRayImageStorageForProcessing);
        Assert.Equal("1.2.840.10008.5.1.4.1.1.1.1", DicomUids.DigitalXRayImageStorageForPresentation);
        Assert.Equal("1.2.840.10008.5.1.4.1.1.4", DicomUids.MRImageStorage);
        Assert.Equal("1.2.840.10008.5.1.4.1.1.7", DicomUids.SecondaryCaptureImageStorage);
        Assert.Equal("1.2.840.10008.1.2", DicomUids.ImplicitVRLittleEndian);
        Assert.Equal("1.2.840.10008.1.2.1", DicomUids.ExplicitVRLittleEndian);
        Assert.Equal("1.2.840.10008.1.2.2", DicomUids.ExplicitVRBigEndian);
        Assert.Equal("1.2.840.10008.1.2.4.90", DicomUids.JPEG2000Lossless);
        Assert.Equal("1.2.840.10008.1.2.4.91", DicomUids.JPEG2000);
        Assert.Equal("1.2.840.10008.1.2.4.50", DicomUids.JPEGBaseline8Bit);
        Assert.Equal("1.2.840.10008.1.2.4.57", DicomUids.JPEGLossless);
        Assert.Equal("1.2.840.10008.1.2.5", DicomUids.RLELossless);
        Assert.Equal("1.2.840.10008.5.1.4.1.1.481.5", DicomUids.RTPlanStorage);
    }

    [Fact]
    public void Uid_lookup()
    {
        var ct = DicomUids.Lookup(DicomUids.CTImageStorage);
        Assert.NotNull(ct);
        Assert.Equal("CT Image Storage", ct.Name);
        Assert.Equal("CTImageStorage", ct.Keyword);
        Assert.Equal("SOP Class", ct.Type);
        Assert.False(ct.Retired);

        var be = DicomUids.Lookup("1.2.840.10008.1.2.2\0"); // NUL padded as read from a data set
        Assert.NotNull(be);
        Assert.Equal("Transfer Syntax", be.Type);
        Assert.True(be.Retired);

        Assert.Null(DicomUids.Lookup("1.2.3.4"));
        Assert.Null(DicomUids.Lookup(null!));
    }

    [Theory]
    [InlineData(DicomUids.CTImageStorage)]
    [InlineData(DicomUids.EnhancedCTImageStorage)]
    [InlineData(DicomUids.MRImageStorage)]
    [InlineData(DicomUids.EnhancedMRImageStorage)]
    [InlineData(DicomUids.DigitalXRayImageStorageForPresentation)]
    [InlineData(DicomUids.DigitalXRayImageStorageForProcessing)]
    [InlineData(DicomUids.DigitalMammographyXRayImageStorageForProcessing)]
    [InlineData(DicomUids.SecondaryCaptureImageStorage)]
    [InlineData(DicomUids.MultiFrameGrayscaleWordSecondaryCaptureImageStorage)]
    [InlineData(DicomUids.RTImageStorage)]
    [InlineData(DicomUids.RTDoseStorage)]
    [InlineData(DicomUids.RTStructureSetStorage)]
    [InlineData(DicomUids.RTPlanStorage)]
    [InlineData(DicomUids.RTIonPlanStorage)]
    [InlineData(DicomUids.RTBeamsDeliveryInstructionStorage)]
    [InlineData(DicomUids.ComprehensiveSRStorage)]
    [InlineData(DicomUids.EncapsulatedPDFStorage)]
    [InlineData("1.2.840.10008.5.1.4.1.1.2\0")]
    public void Storage_sop_classes(string uid)
    {
        Assert.True(DicomUids.IsStorageSopClass(uid), uid);
        Assert.False(DicomUids.IsTransferSyntax(uid), uid);
    }

    [Theory]
    [InlineData(DicomUids.Verification)]
    [InlineData(DicomUids.StorageCommitmentPushModel)]
    [InlineData(DicomUids.MediaStorageDirectoryStorage)]
    [InlineData(DicomUids.Storage)] // the Storage Service Class itself
    [InlineData(DicomUids.StudyRootQueryRetrieveInformationModelFind)]
    [InlineData(DicomUids.ExplicitVRLittleEndian)]
    [InlineData("1.2.3.4")]
    public void Not_storage_sop_classes(string uid) => Assert.False(DicomUids.IsStorageSopClass(uid), uid);

    [Fact]
    public void Transfer_syntaxes()
    {
        Assert.True(DicomUids.IsTransferSyntax(DicomUids.ImplicitVRLittleEndian));
        Assert.True(DicomUids.IsTransferSyntax(DicomUids.ExplicitVRLittleEndian));
        Assert.True(DicomUids.IsTransferSyntax(DicomUids.JPEG2000Lossless));
        Assert.False(DicomUids.IsTransferSyntax(DicomUids.CTImageStorage));
        Assert.True(DicomUids.All.Count(u => DicomUids.IsTransferSyntax(u.Uid)) >= 30);
    }

    [Fact]
    public void Exact_lookup_does_not_allocate()
    {
        var tags = new[] { DicomTags.PatientName, DicomTags.PixelData, new DicomTag(0x6002, 0x3000), new DicomTag(0x0029, 0x0010), new DicomTag(0x0029, 0x1010) };
        foreach (var t in tags) DicomDictionary.Lookup(t); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            foreach (var t in tags) DicomDictionary.Lookup(t);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Generated_files_match_the_generator()
    {
        var root = FindRepoRoot();
        var psi = new ProcessStartInfo("python3")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine("scripts", "gen-dictionary.py"));
        psi.ArgumentList.Add("--check");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(cts.Token);
        var output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"gen-dictionary.py --check exited {p.ExitCode}: {output}");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QcPipeline.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"QcPipeline.sln not found above {AppContext.BaseDirectory}");
    }
}

public class UidSyntaxTests
{
    [Theory]
    [InlineData("1.2.840.10008.5.1.4.1.1.2", true, true)]
    [InlineData("0", true, true)]
    [InlineData("2.25.0", true, true)]
    [InlineData("1.02", false, true)]
    [InlineData("", false, false)]
    [InlineData("1..2", false, false)]
    [InlineData(".1", false, false)]
    [InlineData("1.", false, false)]
    [InlineData("1.2/../3", false, false)]
    [InlineData("1.2.3\0", false, false)]
    [InlineData("1.2.3 ", false, false)]
    [InlineData("12345678901234567890123456789012345678901234567890123456789012345", false, false)]
    public void Uid_syntax_of_PS3_5_section_9_1(string uid, bool strict, bool lenient)
    {
        Assert.Equal(strict, DicomUids.IsValidUid(uid));
        Assert.Equal(lenient, DicomUids.IsValidUid(uid, allowLeadingZeros: true));
    }
}
