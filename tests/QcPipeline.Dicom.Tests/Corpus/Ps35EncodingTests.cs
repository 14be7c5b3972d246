using System.Buffers.Binary;
using System.Text;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Tests.Corpus;

/// <summary>Hand-built byte streams for what PS3.5 says about odd lengths (§7.1.1, §6.2), undefined-length
/// sequences and items (§7.5), nesting, private creators (§7.8.1), and UN of undefined length (§6.2.2).</summary>
public class Ps35EncodingTests
{
    /// <summary>Builds a bare dataset (no preamble, no meta) element by element.</summary>
    private sealed class Bytes(bool littleEndian = true)
    {
        private readonly List<byte> _ms = [];
        public const uint Undefined = 0xFFFFFFFF;

        private void U16(ushort v) { Span<byte> b = stackalloc byte[2]; if (littleEndian) BinaryPrimitives.WriteUInt16LittleEndian(b, v); else BinaryPrimitives.WriteUInt16BigEndian(b, v); _ms.AddRange(b); }
        private void U32(uint v) { Span<byte> b = stackalloc byte[4]; if (littleEndian) BinaryPrimitives.WriteUInt32LittleEndian(b, v); else BinaryPrimitives.WriteUInt32BigEndian(b, v); _ms.AddRange(b); }
        private void Tag(uint tag) { U16((ushort)(tag >> 16)); U16((ushort)tag); }

        /// <summary>Explicit VR with a 16-bit length (PS3.5 Table 7.1-2).</summary>
        public Bytes Short(uint tag, string vr, byte[] value, int? length = null)
        {
            Tag(tag); _ms.AddRange(Encoding.ASCII.GetBytes(vr)); U16((ushort)(length ?? value.Length)); _ms.AddRange(value); return this;
        }

        /// <summary>Explicit VR with reserved bytes and a 32-bit length (PS3.5 Table 7.1-1).</summary>
        public Bytes Long(uint tag, string vr, byte[] value, uint? length = null)
        {
            Tag(tag); _ms.AddRange(Encoding.ASCII.GetBytes(vr)); U16(0); U32(length ?? (uint)value.Length); _ms.AddRange(value); return this;
        }

        /// <summary>Implicit VR: tag and 32-bit length (PS3.5 Table 7.1-3).</summary>
        public Bytes Implicit(uint tag, byte[] value, uint? length = null) { Tag(tag); U32(length ?? (uint)value.Length); _ms.AddRange(value); return this; }

        public Bytes Item(uint length = Undefined) { Tag(0xFFFEE000); U32(length); return this; }
        public Bytes ItemEnd() { Tag(0xFFFEE00D); U32(0); return this; }
        public Bytes SequenceEnd() { Tag(0xFFFEE0DD); U32(0); return this; }
        public Bytes Raw(byte[] b) { _ms.AddRange(b); return this; }
        public byte[] ToArray() => _ms.ToArray();
    }

    private static byte[] A(string s) => Encoding.ASCII.GetBytes(s);
    private static string Text(DicomItem? item) => Encoding.ASCII.GetString(Assert.IsType<DicomElement>(item).Data.Span);

    private static readonly DicomTag PatientName = new(0x00100010);
    private static readonly DicomTag PatientId = new(0x00100020);
    private static readonly DicomTag ReferencedSeries = new(0x00081115);
    private static readonly DicomTag ReferencedInstance = new(0x0008114A);
    private static readonly DicomTag RefSopInstanceUid = new(0x00081155);

    // ------------------------------------------------------------------ odd lengths

    [Fact]
    public void Odd_length_value_is_read_as_it_is_and_the_next_element_follows_it()
    {
        // PS3.5 §7.1.1 requires even lengths, but files break it: read exactly the length given.
        var bytes = new Bytes().Short(0x00100010, "PN", A("ABC")).Short(0x00100020, "LO", A("ID")).ToArray();
        using var f = DicomFile.Read(bytes);
        Assert.Equal(TransferSyntax.ExplicitVRLittleEndian, f.TransferSyntax);
        Assert.Equal("ABC", Text(f.Dataset[PatientName]));
        Assert.Equal("ID", Text(f.Dataset[PatientId]));
    }

    [Fact]
    public void Odd_length_value_in_implicit_VR_is_read_as_it_is()
    {
        var bytes = new Bytes().Implicit(0x00100010, A("ABC")).Implicit(0x00100020, A("ID")).ToArray();
        using var f = DicomFile.Read(bytes);
        Assert.Equal(TransferSyntax.ImplicitVRLittleEndian, f.TransferSyntax);
        Assert.Equal("ABC", Text(f.Dataset[PatientName]));
        Assert.Equal("ID", Text(f.Dataset[PatientId]));
    }

    [Theory]
    [InlineData(DicomVR.PN, (byte)' ')]
    [InlineData(DicomVR.LO, (byte)' ')]
    [InlineData(DicomVR.CS, (byte)' ')]
    [InlineData(DicomVR.DS, (byte)' ')]
    [InlineData(DicomVR.UI, (byte)0)]
    [InlineData(DicomVR.OB, (byte)0)]
    [InlineData(DicomVR.UN, (byte)0)]
    public void Writer_pads_odd_values_to_even_with_space_or_NUL_by_VR(DicomVR vr, byte pad)
    {
        // PS3.5 §6.2: text values are padded with a space, UI with NUL, binary (OB, UN) with 0x00.
        var ds = new DicomDataset();
        ds.AddOrUpdate(new DicomElement(new DicomTag(0x00091001), vr, A("1.2")));
        using var ms = new MemoryStream();
        DicomWriter.WriteDataset(ms, ds, TransferSyntax.ExplicitVRLittleEndian, DicomWriteOptions.Default);
        var written = ms.ToArray();
        int header = vr.HasLongLength() ? 12 : 8;
        Assert.Equal(header + 4, written.Length);
        Assert.Equal(4, vr.HasLongLength() ? BinaryPrimitives.ReadInt32LittleEndian(written.AsSpan(8)) : BinaryPrimitives.ReadUInt16LittleEndian(written.AsSpan(6)));
        Assert.Equal([(byte)'1', (byte)'.', (byte)'2', pad], written[header..]);
    }

    // ------------------------------------------------------------------ sequences and items

    [Fact]
    public void Undefined_length_sequence_with_undefined_length_items()
    {
        var bytes = new Bytes()
            .Long(0x00081115, "SQ", [], Bytes.Undefined)
                .Item().Short(0x00081155, "UI", A("1.2.3\0")).ItemEnd()
                .Item().Short(0x00081155, "UI", A("1.2.4\0")).ItemEnd()
            .SequenceEnd()
            .Short(0x00100010, "PN", A("Doe^J "))
            .ToArray();
        using var f = DicomFile.Read(bytes);
        var sq = Assert.IsType<DicomSequence>(f.Dataset[ReferencedSeries]);
        Assert.Equal(2, sq.Items.Count);
        Assert.Equal("1.2.4", sq.Items[1].GetString(RefSopInstanceUid));
        Assert.Equal("Doe^J", f.Dataset.GetString(PatientName));
    }

    [Fact]
    public void Defined_length_sequence_with_defined_length_items_and_an_empty_item()
    {
        var item = new Bytes().Short(0x00081155, "UI", A("1.2.3\0")).ToArray();
        var content = new Bytes().Item((uint)item.Length).Raw(item).Item(0).ToArray();
        var bytes = new Bytes().Long(0x00081115, "SQ", content).Short(0x00100010, "PN", A("X ")).ToArray();
        using var f = DicomFile.Read(bytes);
        var sq = Assert.IsType<DicomSequence>(f.Dataset[ReferencedSeries]);
        Assert.Equal(2, sq.Items.Count);
        Assert.Equal("1.2.3", sq.Items[0].GetString(RefSopInstanceUid));
        Assert.Equal(0, sq.Items[1].Count);
        Assert.Equal("X", f.Dataset.GetString(PatientName));
    }

    [Fact]
    public void Empty_sequences_of_either_length()
    {
        var bytes = new Bytes().Long(0x00081115, "SQ", []).Long(0x0008114A, "SQ", [], Bytes.Undefined).SequenceEnd().ToArray();
        using var f = DicomFile.Read(bytes);
        Assert.Empty(Assert.IsType<DicomSequence>(f.Dataset[ReferencedSeries]).Items);
        Assert.Empty(Assert.IsType<DicomSequence>(f.Dataset[ReferencedInstance]).Items);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Nested_sequences_mixing_defined_and_undefined_lengths(bool littleEndian)
    {
        // Outer: undefined length; its item holds an inner sequence of defined length holding a defined-length item.
        var innerItem = new Bytes(littleEndian).Short(0x00081155, "UI", A("9.8\0")).Short(0x00280010, "US", littleEndian ? [0x00, 0x02] : [0x02, 0x00]).ToArray();
        var innerSeq = new Bytes(littleEndian).Item((uint)innerItem.Length).Raw(innerItem).ToArray();
        var bytes = new Bytes(littleEndian)
            .Long(0x00081115, "SQ", [], Bytes.Undefined)
                .Item()
                    .Long(0x0008114A, "SQ", innerSeq)
                    .Short(0x00100020, "LO", A("in"))
                .ItemEnd()
            .SequenceEnd()
            .ToArray();
        using var f = DicomFile.Read(bytes);
        Assert.Equal(littleEndian ? TransferSyntax.ExplicitVRLittleEndian : TransferSyntax.ExplicitVRBigEndian, f.TransferSyntax);
        var outer = Assert.IsType<DicomSequence>(f.Dataset[ReferencedSeries]);
        var inner = Assert.IsType<DicomSequence>(Assert.Single(outer.Items)[ReferencedInstance]);
        Assert.Equal("9.8", inner.Items[0].GetString(RefSopInstanceUid));
        Assert.Equal(512, inner.Items[0].GetInt32OrDefault(new DicomTag(0x00280010)));
        Assert.Equal("in", outer.Items[0].GetString(PatientId));

        // And it survives our writer in every uncompressed syntax.
        foreach (var ts in RoundTripTests.UncompressedSyntaxes)
        {
            using var back = DicomFile.Read(f.ToBytes(ts));
            DatasetComparer.AssertEqual(f.Dataset, back.Dataset, RoundTripTests.OptionsFor(ts), ts.Name);
        }
    }

    [Fact]
    public void Item_without_its_delimiter_before_the_end_is_a_format_error_naming_tag_and_offset()
    {
        var bytes = new Bytes().Long(0x00081115, "SQ", [], Bytes.Undefined).Item().Short(0x00081155, "UI", A("1.2\0")).ToArray();
        var ex = Assert.Throws<DicomFormatException>(() => DicomFile.Read(bytes));
        Assert.True(ex.Offset >= 0);
        Assert.Contains("offset", ex.Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ private tags

    [Fact]
    public void Private_creator_and_its_elements_in_explicit_VR()
    {
        var bytes = new Bytes()
            .Short(0x00090010, "LO", A("ACME 1.0"))
            .Short(0x00091001, "DS", A("1.5 "))
            .Short(0x00091002, "US", [7, 0])
            .ToArray();
        using var f = DicomFile.Read(bytes);
        var creator = new DicomTag(0x00090010);
        var data = new DicomTag(0x00091002);
        Assert.True(creator.IsPrivateCreator);
        Assert.Equal(creator, data.PrivateCreatorTag);
        Assert.Equal("ACME 1.0", f.Dataset.GetString(creator));
        Assert.Equal(DicomVR.DS, f.Dataset[new DicomTag(0x00091001)]!.VR);
        Assert.Equal(7, f.Dataset.GetInt32OrDefault(data));
    }

    [Fact]
    public void Private_creator_in_implicit_VR_is_LO_and_unknown_private_elements_are_UN()
    {
        // PS3.5 §7.8.1: (gggg,0010-00FF) are private creator elements, VR LO. The elements they reserve have no VR
        // anyone can know without the creator's documentation: UN.
        var bytes = new Bytes().Implicit(0x00090010, A("ACME 1.0")).Implicit(0x00091001, [1, 2, 3, 4]).ToArray();
        using var f = DicomFile.Read(bytes);
        Assert.Equal(DicomVR.LO, f.Dataset[new DicomTag(0x00090010)]!.VR);
        Assert.Equal("ACME 1.0", f.Dataset.GetString(new DicomTag(0x00090010)));
        var e = Assert.IsType<DicomElement>(f.Dataset[new DicomTag(0x00091001)]);
        Assert.Equal(DicomVR.UN, e.VR);
        Assert.Equal([1, 2, 3, 4], e.Data.ToArray());
    }

    // ------------------------------------------------------------------ UN of undefined length (PS3.5 §6.2.2)

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UN_with_undefined_length_holds_an_implicit_VR_little_endian_sequence(bool littleEndian)
    {
        // The items inside are implicit VR little endian whatever the transfer syntax of the file (PS3.5 §6.2.2).
        var inside = new Bytes(littleEndian: true)
            .Item()
                .Implicit(0x00081155, A("1.2.3\0"))
                .Implicit(0x00280010, [0x00, 0x02])
            .ItemEnd()
            .SequenceEnd()
            .ToArray();
        var bytes = new Bytes(littleEndian)
            .Short(0x00090010, "LO", A("ACME"))
            .Long(0x00091001, "UN", [], Bytes.Undefined)
            .Raw(inside)
            .Short(0x00100010, "PN", A("After "))
            .ToArray();
        using var f = DicomFile.Read(bytes);
        var sq = Assert.IsType<DicomSequence>(f.Dataset[new DicomTag(0x00091001)]);
        var item = Assert.Single(sq.Items);
        Assert.Equal("1.2.3", item.GetString(RefSopInstanceUid));
        Assert.Equal(512, BinaryPrimitives.ReadUInt16LittleEndian(Assert.IsType<DicomElement>(item[new DicomTag(0x00280010)]).Data.Span));
        Assert.Equal("After", f.Dataset.GetString(PatientName));
    }

    [Fact]
    public void UN_of_defined_length_keeps_its_bytes()
    {
        var bytes = new Bytes().Long(0x00091001, "UN", [1, 2, 3, 4, 5, 6]).Short(0x00100010, "PN", A("X ")).ToArray();
        using var f = DicomFile.Read(bytes);
        var e = Assert.IsType<DicomElement>(f.Dataset[new DicomTag(0x00091001)]);
        Assert.Equal(DicomVR.UN, e.VR);
        Assert.Equal([1, 2, 3, 4, 5, 6], e.Data.ToArray());
    }

    // ------------------------------------------------------------------ the comparers catch what they should

    [Fact]
    public void DatasetComparer_reports_value_VR_tag_and_item_differences_and_ignores_padding()
    {
        var a = new DicomDataset();
        a.AddOrUpdate(PatientName, DicomVR.PN, "Doe");
        a.AddOrUpdate(new DicomSequence(ReferencedSeries, [new DicomDataset()]));
        var b = a.Clone();
        Assert.Empty(DatasetComparer.Compare(a, b));

        b.AddOrUpdate(new DicomElement(PatientName, DicomVR.PN, A("Doe"))); // "Doe " vs "Doe": padding only
        Assert.Empty(DatasetComparer.Compare(a, b));
        b.AddOrUpdate(new DicomElement(PatientName, DicomVR.PN, A("Dof ")));
        Assert.Single(DatasetComparer.Compare(a, b));
        b.AddOrUpdate(new DicomElement(PatientName, DicomVR.LO, A("Doe ")));
        Assert.Contains("VR PN vs LO", Assert.Single(DatasetComparer.Compare(a, b)), StringComparison.Ordinal);
        Assert.Equal(2, DatasetComparer.Compare(a, new DicomDataset()).Count);
        b = a.Clone();
        b.GetSequence(ReferencedSeries)!.Items.Add(new DicomDataset());
        Assert.Contains("1 items vs 2", Assert.Single(DatasetComparer.Compare(a, b)), StringComparison.Ordinal);
    }

    [Fact]
    public void DcmtkAgreement_decodes_our_bytes_by_DCMTK_VR()
    {
        Assert.Null(DcmtkAgreement.CompareValue([0x00, 0x02, 0xFF, 0xFF], "US", "512\\65535"));
        Assert.NotNull(DcmtkAgreement.CompareValue([0x00, 0x02], "US", "513"));
        Assert.Null(DcmtkAgreement.CompareValue([0xFF, 0xFF], "SS", "-1"));
        Assert.Null(DcmtkAgreement.CompareValue([0x54, 0x00, 0x10, 0x00], "AT", "(0054,0010)"));
        Assert.Null(DcmtkAgreement.CompareValue(BitConverter.GetBytes(-0f), "FL", "0"));
        Assert.NotNull(DcmtkAgreement.CompareValue(BitConverter.GetBytes(1.5f), "FL", "1.25"));
        Assert.Null(DcmtkAgreement.CompareValue(A("A\\B "), "CS", "A\\B"));
        Assert.NotNull(DcmtkAgreement.CompareValue(A("A\\C "), "CS", "A\\B"));
        Assert.Null(DcmtkAgreement.CompareValue(A("a\\b"), "LT", "a\\b"));
    }
}
