using System.Net;
using System.Text;
using System.Text.Json;
using static QcPipeline.Service.Tests.DicomWebReadClient;

namespace QcPipeline.Service.Tests;

/// <summary>QIDO-RS (PS3.18 §10.6) against instances stored over DIMSE: each matching key, date ranges, wildcards,
/// includefield, paging, bad parameters, the character-set round trip.</summary>
[Collection(DicomWebReadCollection.Name)]
public class QidoTests(DicomWebReadFixture f)
{
    private const string StudyUidTag = "0020000D", SeriesUidTag = "0020000E", SopUidTag = "00080018";

    private async Task<List<string?>> StudyUids(string query) => Values(await GetJsonArrayAsync(f.Http, "/dicom-web/studies" + query), StudyUidTag);

    [Fact]
    public async Task Qido_all_studies_newest_first_with_the_required_study_attributes()
    {
        var studies = await GetJsonArrayAsync(f.Http, "/dicom-web/studies");
        Assert.Equal([f.StudyC, f.StudyA, f.StudyB], Values(studies, StudyUidTag)); // 2027, 2026, 2025
        var a = studies[1];
        Assert.Equal("20260315", Value(a, "00080020"));
        Assert.Equal("101500", Value(a, "00080030"));
        Assert.Equal("ACC-A1", Value(a, "00080050"));
        Assert.Equal("CT", Value(a, "00080061"));
        Assert.Equal("Doe^John", Value(a, "00100010"));
        Assert.Equal("QC001", Value(a, "00100020"));
        Assert.Equal("1", Value(a, "00201206")); // NumberOfStudyRelatedSeries
        Assert.Equal("2", Value(a, "00201208")); // NumberOfStudyRelatedInstances
        Assert.EndsWith($"/dicom-web/studies/{f.StudyA}", Value(a, "00081190"), StringComparison.Ordinal);
        foreach (var required in new[] { "00080090", "00100030", "00100040", "00200010" }) Assert.True(a.TryGetProperty(required, out _), required);
        var b = studies[2];
        Assert.Equal(["MR", "OT"], b.GetProperty("00080061").GetProperty("Value").EnumerateArray().Select(v => v.GetString()).ToList());
        Assert.Equal("2", Value(b, "00201206"));
    }

    [Theory]
    [InlineData("?StudyDate=20260101-20261231", "A")]
    [InlineData("?StudyDate=-20251231", "B")]
    [InlineData("?StudyDate=20260101-", "CA")]
    [InlineData("?StudyDate=20260315", "A")]
    [InlineData("?PatientName=Doe*", "A")]
    [InlineData("?PatientName=doe%5Ej?hn", "A")] // PN matching ignores case; '?' one character
    [InlineData("?PatientName=*%E5%B0%8F%E6%98%8E", "C")] // *小明
    [InlineData("?PatientID=QC002", "B")]
    [InlineData("?00100020=QC00*", "CAB")]
    [InlineData("?AccessionNumber=ACC-A1", "A")]
    [InlineData("?Modality=MR", "B")]
    [InlineData("?ModalitiesInStudy=CT", "CA")]
    [InlineData("?ModalitiesInStudy=OT", "B")]
    [InlineData("?StationName=CT02", "C")]
    [InlineData("?StationName=MR01", "B")]
    [InlineData("?StudyDescription=QC*phantom", "A")]
    [InlineData("?StudyDescription=qc*", "")] // other text matching is case-sensitive (PS3.4 C.2.2.2.1)
    [InlineData("?PatientID=nobody", "")]
    [InlineData("?PatientName=*&fuzzymatching=false", "CAB")]
    [InlineData("?limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060", "CAB")] // OHIF's study list
    [InlineData("?limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060&PatientName=*doe*&StudyDate=20260101-20261231", "A")]
    public async Task Qido_study_search_by_key(string query, string expected)
    {
        var map = new Dictionary<char, string> { ['A'] = f.StudyA, ['B'] = f.StudyB, ['C'] = f.StudyC };
        Assert.Equal(expected.Select(c => (string?)map[c]).ToList(), await StudyUids(query));
    }

    [Fact]
    public async Task Qido_study_instance_uid_single_and_list_matching_and_unknown_study_is_an_empty_200()
    {
        Assert.Equal([f.StudyA], await StudyUids($"?StudyInstanceUID={f.StudyA}"));
        Assert.Equal([f.StudyA, f.StudyB], await StudyUids($"?StudyInstanceUID={f.StudyB}%5C{f.StudyA}"));
        var (rsp, body) = await GetAsync(f.Http, "/dicom-web/studies?StudyInstanceUID=1.2.3.4.5");
        Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
        Assert.Equal("[]", Encoding.UTF8.GetString(body));
        Assert.Equal(0, (await GetJsonArrayAsync(f.Http, "/dicom-web/studies/1.2.3.4.5/series")).GetArrayLength());
    }

    [Fact]
    public async Task Qido_series_of_a_study_and_all_series_with_their_attributes()
    {
        var series = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/series");
        Assert.Equal([f.SeriesB1, f.SeriesB2], Values(series, SeriesUidTag)); // by Series Number
        Assert.Equal(["MR", "OT"], Values(series, "00080060"));
        Assert.Equal(["MR01", "MR01"], Values(series, "00081010"));
        Assert.Equal(["1", "2"], Values(series, "00200011"));
        Assert.Equal(["1", "1"], Values(series, "00201209")); // NumberOfSeriesRelatedInstances
        Assert.False(series[0].TryGetProperty("00100010", out _)); // study-level attributes only on request here
        Assert.EndsWith($"/studies/{f.StudyB}/series/{f.SeriesB1}", Value(series[0], "00081190"), StringComparison.Ordinal);

        var all = await GetJsonArrayAsync(f.Http, "/dicom-web/series?StationName=CT01");
        var one = Assert.Single(all.EnumerateArray());
        Assert.Equal(f.SeriesA, Value(one, SeriesUidTag));
        Assert.Equal("2", Value(one, "00201209"));
        Assert.Equal("Doe^John", Value(one, "00100010")); // /series without a study returns the study attributes too

        var bySeriesNumber = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/series?SeriesNumber=2");
        Assert.Equal([f.SeriesB2], Values(bySeriesNumber, SeriesUidTag));
    }

    [Fact]
    public async Task Qido_instances_at_each_route_with_the_image_attributes()
    {
        var inSeries = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/series/{f.SeriesB1}/instances");
        var mf = Assert.Single(inSeries.EnumerateArray());
        Assert.Equal(f.MultiFrameSop, Value(mf, SopUidTag));
        Assert.Equal("1.2.840.10008.5.1.4.1.1.7.3", Value(mf, "00080016"));
        Assert.Equal("4", Value(mf, "00280010"));
        Assert.Equal("5", Value(mf, "00280011"));
        Assert.Equal("16", Value(mf, "00280100"));
        Assert.Equal("3", Value(mf, "00280008"));
        Assert.Equal("1", Value(mf, "00200013"));

        Assert.Equal(2, (await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyB}/instances")).GetArrayLength());
        Assert.Equal(5, (await GetJsonArrayAsync(f.Http, "/dicom-web/instances")).GetArrayLength());
        var bySop = await GetJsonArrayAsync(f.Http, $"/dicom-web/instances?SOPInstanceUID={f.SingleFrameSop}");
        Assert.Equal([f.SingleFrameSop], Values(bySop, SopUidTag));
        var byNumber = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyA}/instances?InstanceNumber=2");
        Assert.Equal([f.StudyAFiles[1].SopInstanceUid], Values(byNumber, SopUidTag));
    }

    [Fact]
    public async Task Qido_series_and_instance_searches_take_the_study_keys_and_page()
    {
        static HashSet<string?> Set(IEnumerable<string?> v) => [.. v];
        // Series level, across studies: Modality, a StudyDate range, AccessionNumber.
        Assert.Equal([f.SeriesB1], Values(await GetJsonArrayAsync(f.Http, "/dicom-web/series?Modality=MR"), SeriesUidTag));
        Assert.Equal(Set([f.SeriesB1, f.SeriesB2]), Set(Values(await GetJsonArrayAsync(f.Http, "/dicom-web/series?StudyDate=20251201-20251231"), SeriesUidTag)));
        Assert.Equal([f.SeriesA], Values(await GetJsonArrayAsync(f.Http, "/dicom-web/series?AccessionNumber=ACC-A1"), SeriesUidTag));
        Assert.Empty(Values(await GetJsonArrayAsync(f.Http, "/dicom-web/series?StudyDate=20200101-20201231"), SeriesUidTag));
        // Instance level.
        Assert.Equal([f.SingleFrameSop], Values(await GetJsonArrayAsync(f.Http, "/dicom-web/instances?Modality=OT"), SopUidTag));
        Assert.Equal(Set(f.StudyAFiles.Select(x => (string?)x.SopInstanceUid)),
            Set(Values(await GetJsonArrayAsync(f.Http, "/dicom-web/instances?StudyDate=20260315"), SopUidTag)));
        Assert.Equal(Set([f.MultiFrameSop, f.SingleFrameSop]),
            Set(Values(await GetJsonArrayAsync(f.Http, "/dicom-web/instances?AccessionNumber=ACC-B1"), SopUidTag)));
        // Paging the 5 instances: pages of 2 cover each once.
        var pages = new List<string?>();
        foreach (var offset in new[] { 0, 2, 4 })
        {
            var page = Values(await GetJsonArrayAsync(f.Http, $"/dicom-web/instances?limit=2&offset={offset}"), SopUidTag);
            Assert.Equal(offset == 4 ? 1 : 2, page.Count);
            pages.AddRange(page);
        }
        Assert.Equal(5, Set(pages).Count);
        var series = Values(await GetJsonArrayAsync(f.Http, "/dicom-web/series?limit=1&offset=1"), SeriesUidTag);
        Assert.Single(series);
    }

    [Fact]
    public async Task Qido_includefield_by_keyword_by_tag_and_all()
    {
        var plain = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyA}/series");
        Assert.False(plain[0].TryGetProperty("00080020", out _));
        var byName = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyA}/series?includefield=StudyDate");
        Assert.Equal("20260315", Value(byName[0], "00080020"));
        Assert.False(byName[0].TryGetProperty("00100010", out _));
        var byTag = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyA}/series?includefield=00100020,00081030");
        Assert.Equal("QC001", Value(byTag[0], "00100020"));
        Assert.Equal("QC water phantom", Value(byTag[0], "00081030"));
        var all = await GetJsonArrayAsync(f.Http, $"/dicom-web/studies/{f.StudyA}/series/{f.SeriesA}/instances?includefield=all");
        Assert.Equal("Doe^John", Value(all[0], "00100010"));
        Assert.Equal("CT01", Value(all[0], "00081010"));
    }

    [Fact]
    public async Task Qido_limit_and_offset_page_through_the_studies()
    {
        var (rsp, _) = await GetAsync(f.Http, "/dicom-web/studies?limit=2");
        Assert.Contains(rsp.Headers.GetValues("Warning"), w => w.Contains("additional results", StringComparison.Ordinal));
        Assert.Equal([f.StudyC, f.StudyA], await StudyUids("?limit=2"));
        Assert.Equal([f.StudyB], await StudyUids("?limit=2&offset=2"));
        Assert.Equal([f.StudyA], await StudyUids("?limit=1&offset=1"));
        Assert.Empty(await StudyUids("?offset=3"));
        var (last, _) = await GetAsync(f.Http, "/dicom-web/studies?limit=2&offset=1");
        Assert.False(last.Headers.Contains("Warning"));
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=-1")]
    [InlineData("?limit=abc")]
    [InlineData("?offset=-5")]
    [InlineData("?StudyDate=2026")]
    [InlineData("?StudyDate=20261301")]
    [InlineData("?StudyDate=20261231-20260101")]
    [InlineData("?StudyDate=2026-01-01")]
    [InlineData("?NoSuchKeyword=1")]
    [InlineData("?includefield=NotAKeyword")]
    [InlineData("?StudyInstanceUID=1.2.abc")]
    [InlineData("?SeriesNumber=two")]
    [InlineData("?fuzzymatching=maybe")]
    [InlineData("?00081111.00081150=1.2.3")]
    [InlineData("?PatientID=A%5CB")]
    public async Task Qido_bad_parameters_are_a_clear_400(string query)
    {
        var (rsp, body) = await GetAsync(f.Http, "/dicom-web/studies" + query);
        Assert.Equal(HttpStatusCode.BadRequest, rsp.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(Encoding.UTF8.GetString(body)));
        var (again, _) = await GetAsync(f.Http, "/dicom-web/studies?limit=1");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode); // the service is still answering
    }

    [Fact]
    public async Task Qido_a_bad_uid_in_the_path_is_400_and_an_unsupported_key_is_ignored_with_a_warning()
    {
        var (bad, _) = await GetAsync(f.Http, "/dicom-web/studies/not-a-uid/series");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var (rsp, body) = await GetAsync(f.Http, "/dicom-web/studies?PatientAge=030Y");
        Assert.Equal(HttpStatusCode.OK, rsp.StatusCode);
        Assert.Contains(rsp.Headers.GetValues("Warning"), w => w.Contains("PatientAge", StringComparison.Ordinal));
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(3, doc.RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Qido_a_GB18030_patient_name_round_trips_as_unicode()
    {
        // The stored file really is GB18030: 王 is CD F5 there (UTF-8 would be E7 8E 8B).
        var stored = await File.ReadAllBytesAsync(f.StoredPath(f.StudyC, f.SeriesC, f.RleSop));
        Assert.True(stored.AsSpan().IndexOf(new byte[] { 0xCD, 0xF5 }) >= 0);
        Assert.True(stored.AsSpan().IndexOf(Encoding.UTF8.GetBytes("王")) < 0);

        var studies = await GetJsonArrayAsync(f.Http, "/dicom-web/studies?PatientName=*%E7%8E%8B*"); // *王*
        var c = Assert.Single(studies.EnumerateArray());
        var pn = c.GetProperty("00100010").GetProperty("Value")[0];
        Assert.Equal("Wang^XiaoMing", pn.GetProperty("Alphabetic").GetString());
        Assert.Equal("王^小明", pn.GetProperty("Ideographic").GetString());
    }

    [Fact]
    public async Task Qido_answers_406_when_only_xml_is_accepted()
    {
        var (rsp, _) = await GetAsync(f.Http, "/dicom-web/studies", "application/dicom+xml");
        Assert.Equal(HttpStatusCode.NotAcceptable, rsp.StatusCode);
    }
}

/// <summary>Every QIDO-RS test again with the index on PostgreSQL.</summary>
[Collection(DicomWebReadPostgresCollection.Name)]
public sealed class QidoPostgresTests(DicomWebReadPostgresFixture f) : QidoTests(f);
