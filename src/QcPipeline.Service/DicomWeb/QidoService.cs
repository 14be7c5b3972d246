using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using QcPipeline.Dicom;
using QcPipeline.Service.Index;

namespace QcPipeline.Service.DicomWeb;

/// <summary>Runs QIDO-RS queries against the index (never the files): the conditions select instances, results are
/// grouped by study or series, ordered (studies: newest Study Date first) and paged in the database.</summary>
/// <remarks>A key below the level of the search (Modality, StationName in a study search) matches a study that has at
/// least one such instance; the counts and ModalitiesInStudy of a result always cover all its instances.</remarks>
public sealed class QidoService(IDbContextFactory<IndexDbContext> dbFactory)
{
    /// <summary>Scope fixed by the route: <c>/studies/{study}/series</c> etc.</summary>
    public sealed record Scope(string? StudyUid = null, string? SeriesUid = null);

    public sealed record Result(List<DicomDataset> Datasets, bool MoreAvailable);

    public async Task<Result> SearchAsync(DicomWebQuery query, Scope scope, string retrieveBase, CancellationToken ct)
    {
        var db = await dbFactory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            bool sqlite = db.Database.ProviderName?.Contains("Sqlite", StringComparison.OrdinalIgnoreCase) == true;
            IQueryable<InstanceRecord> matched = db.Instances.AsNoTracking();
            if (scope.StudyUid is { } st) matched = matched.Where(i => i.StudyInstanceUid == st);
            if (scope.SeriesUid is { } se) matched = matched.Where(i => i.SeriesInstanceUid == se);
            foreach (var m in query.Matches) matched = Filter(matched, m, sqlite);

            return query.Level switch
            {
                QidoLevel.Study => await StudiesAsync(db, matched, query, retrieveBase, ct).ConfigureAwait(false),
                QidoLevel.Series => await SeriesAsync(db, matched, query, scope, retrieveBase, ct).ConfigureAwait(false),
                _ => await InstancesAsync(matched, query, scope, retrieveBase, ct).ConfigureAwait(false),
            };
        }
    }

    // ------------------------------------------------------------------ levels

    private sealed class StudyRow
    {
        public required string Uid { get; init; }
        public string? PatientName, PatientId, PatientBirthDate, PatientSex, StudyDate, StudyTime, AccessionNumber, StudyId, StudyDescription, ReferringPhysicianName;
        public int Series, Instances;
    }

    private static async Task<Result> StudiesAsync(IndexDbContext db, IQueryable<InstanceRecord> matched, DicomWebQuery q, string retrieveBase, CancellationToken ct)
    {
        var page = await matched.GroupBy(i => i.StudyInstanceUid)
            .Select(g => new { Uid = g.Key, Date = g.Max(i => i.StudyDate), Time = g.Max(i => i.StudyTime) })
            .OrderByDescending(x => x.Date).ThenByDescending(x => x.Time).ThenBy(x => x.Uid)
            .Skip(q.Offset).Take(q.Limit + 1).Select(x => x.Uid).ToListAsync(ct).ConfigureAwait(false);
        bool more = page.Count > q.Limit;
        if (more) page.RemoveAt(page.Count - 1);
        if (page.Count == 0) return new Result([], false);

        var all = db.Instances.AsNoTracking().Where(i => page.Contains(i.StudyInstanceUid));
        var rows = await all.GroupBy(i => i.StudyInstanceUid).Select(g => new StudyRow
        {
            Uid = g.Key,
            PatientName = g.Max(i => i.PatientName), PatientId = g.Max(i => i.PatientId), PatientBirthDate = g.Max(i => i.PatientBirthDate),
            PatientSex = g.Max(i => i.PatientSex), StudyDate = g.Max(i => i.StudyDate), StudyTime = g.Max(i => i.StudyTime),
            AccessionNumber = g.Max(i => i.AccessionNumber), StudyId = g.Max(i => i.StudyId), StudyDescription = g.Max(i => i.StudyDescription),
            ReferringPhysicianName = g.Max(i => i.ReferringPhysicianName),
            Series = g.Select(i => i.SeriesInstanceUid).Distinct().Count(), Instances = g.Count(),
        }).ToDictionaryAsync(r => r.Uid, StringComparer.Ordinal, ct).ConfigureAwait(false);
        var modalities = (await all.Where(i => i.Modality != null).Select(i => new { i.StudyInstanceUid, i.Modality }).Distinct().ToListAsync(ct).ConfigureAwait(false))
            .GroupBy(x => x.StudyInstanceUid, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Modality!).Order(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);

        var result = new List<DicomDataset>(page.Count);
        foreach (var uid in page)
        {
            if (!rows.TryGetValue(uid, out var r)) continue; // deleted between the two queries
            var ds = NewDataset();
            AddStudy(ds, r, modalities.GetValueOrDefault(uid) ?? [], retrieveBase, includeCounts: true);
            result.Add(ds);
        }
        return new Result(result, more);
    }

    private static void AddStudy(DicomDataset ds, StudyRow r, string[] modalities, string retrieveBase, bool includeCounts)
    {
        Text(ds, DicomTags.StudyDate, DicomVR.DA, r.StudyDate);
        Text(ds, DicomTags.StudyTime, DicomVR.TM, r.StudyTime);
        Text(ds, DicomTags.AccessionNumber, DicomVR.SH, r.AccessionNumber);
        Text(ds, DicomTags.InstanceAvailability, DicomVR.CS, "ONLINE");
        if (includeCounts) ds.AddOrUpdate(DicomTags.ModalitiesInStudy, DicomVR.CS, modalities);
        Text(ds, DicomTags.ReferringPhysicianName, DicomVR.PN, r.ReferringPhysicianName);
        Text(ds, DicomTags.StudyDescription, DicomVR.LO, r.StudyDescription);
        Text(ds, DicomTags.RetrieveURL, DicomVR.UR, $"{retrieveBase}/studies/{r.Uid}");
        Text(ds, DicomTags.PatientName, DicomVR.PN, r.PatientName);
        Text(ds, DicomTags.PatientID, DicomVR.LO, r.PatientId);
        Text(ds, DicomTags.PatientBirthDate, DicomVR.DA, r.PatientBirthDate);
        Text(ds, DicomTags.PatientSex, DicomVR.CS, r.PatientSex);
        Text(ds, DicomTags.StudyInstanceUID, DicomVR.UI, r.Uid);
        Text(ds, DicomTags.StudyID, DicomVR.SH, r.StudyId);
        if (includeCounts)
        {
            ds.AddOrUpdate(DicomTags.NumberOfStudyRelatedSeries, DicomVR.IS, r.Series.ToString(System.Globalization.CultureInfo.InvariantCulture));
            ds.AddOrUpdate(DicomTags.NumberOfStudyRelatedInstances, DicomVR.IS, r.Instances.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private sealed class SeriesRow
    {
        public required string Uid { get; init; }
        public required string StudyUid { get; init; }
        public string? Modality, SeriesDescription, StationName, PpsStartDate, PpsStartTime;
        public int? SeriesNumber;
        public int Instances;
        // study level, for /series without a study and for includefield
        public string? PatientName, PatientId, PatientBirthDate, PatientSex, StudyDate, StudyTime, AccessionNumber, StudyId, StudyDescription, ReferringPhysicianName;
    }

    private static async Task<Result> SeriesAsync(IndexDbContext db, IQueryable<InstanceRecord> matched, DicomWebQuery q, Scope scope, string retrieveBase, CancellationToken ct)
    {
        var page = await matched.GroupBy(i => i.SeriesInstanceUid)
            .Select(g => new { Uid = g.Key, Study = g.Max(i => i.StudyInstanceUid), Number = g.Min(i => i.SeriesNumber) })
            .OrderBy(x => x.Study).ThenBy(x => x.Number).ThenBy(x => x.Uid)
            .Skip(q.Offset).Take(q.Limit + 1).Select(x => x.Uid).ToListAsync(ct).ConfigureAwait(false);
        bool more = page.Count > q.Limit;
        if (more) page.RemoveAt(page.Count - 1);
        if (page.Count == 0) return new Result([], false);

        var rows = await db.Instances.AsNoTracking().Where(i => page.Contains(i.SeriesInstanceUid)).GroupBy(i => i.SeriesInstanceUid).Select(g => new SeriesRow
        {
            Uid = g.Key, StudyUid = g.Max(i => i.StudyInstanceUid)!,
            Modality = g.Max(i => i.Modality), SeriesDescription = g.Max(i => i.SeriesDescription), StationName = g.Max(i => i.StationName),
            PpsStartDate = g.Max(i => i.PerformedProcedureStepStartDate), PpsStartTime = g.Max(i => i.PerformedProcedureStepStartTime),
            SeriesNumber = g.Min(i => i.SeriesNumber), Instances = g.Count(),
            PatientName = g.Max(i => i.PatientName), PatientId = g.Max(i => i.PatientId), PatientBirthDate = g.Max(i => i.PatientBirthDate),
            PatientSex = g.Max(i => i.PatientSex), StudyDate = g.Max(i => i.StudyDate), StudyTime = g.Max(i => i.StudyTime),
            AccessionNumber = g.Max(i => i.AccessionNumber), StudyId = g.Max(i => i.StudyId), StudyDescription = g.Max(i => i.StudyDescription),
            ReferringPhysicianName = g.Max(i => i.ReferringPhysicianName),
        }).ToDictionaryAsync(r => r.Uid, StringComparer.Ordinal, ct).ConfigureAwait(false);

        bool studyAttrs = scope.StudyUid is null || q.IncludeAll || q.IncludeFields.Any(StudyLevelTags.Contains);
        var result = new List<DicomDataset>(page.Count);
        foreach (var uid in page)
        {
            if (!rows.TryGetValue(uid, out var r)) continue;
            var ds = NewDataset();
            if (studyAttrs)
            {
                AddStudy(ds, new StudyRow
                {
                    Uid = r.StudyUid, PatientName = r.PatientName, PatientId = r.PatientId, PatientBirthDate = r.PatientBirthDate, PatientSex = r.PatientSex,
                    StudyDate = r.StudyDate, StudyTime = r.StudyTime, AccessionNumber = r.AccessionNumber, StudyId = r.StudyId,
                    StudyDescription = r.StudyDescription, ReferringPhysicianName = r.ReferringPhysicianName,
                }, [], retrieveBase, includeCounts: false);
                if (scope.StudyUid is not null && !q.IncludeAll) Keep(ds, q.IncludeFields, StudyLevelTags);
            }
            Text(ds, DicomTags.InstanceAvailability, DicomVR.CS, "ONLINE");
            Text(ds, DicomTags.Modality, DicomVR.CS, r.Modality);
            Text(ds, DicomTags.StationName, DicomVR.SH, r.StationName);
            Text(ds, DicomTags.SeriesDescription, DicomVR.LO, r.SeriesDescription);
            Text(ds, DicomTags.RetrieveURL, DicomVR.UR, $"{retrieveBase}/studies/{r.StudyUid}/series/{r.Uid}");
            Text(ds, DicomTags.StudyInstanceUID, DicomVR.UI, r.StudyUid);
            Text(ds, DicomTags.SeriesInstanceUID, DicomVR.UI, r.Uid);
            Int(ds, DicomTags.SeriesNumber, r.SeriesNumber);
            ds.AddOrUpdate(DicomTags.NumberOfSeriesRelatedInstances, DicomVR.IS, r.Instances.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Text(ds, DicomTags.PerformedProcedureStepStartDate, DicomVR.DA, r.PpsStartDate);
            Text(ds, DicomTags.PerformedProcedureStepStartTime, DicomVR.TM, r.PpsStartTime);
            result.Add(ds);
        }
        return new Result(result, more);
    }

    private static async Task<Result> InstancesAsync(IQueryable<InstanceRecord> matched, DicomWebQuery q, Scope scope, string retrieveBase, CancellationToken ct)
    {
        var page = await matched.OrderBy(i => i.StudyInstanceUid).ThenBy(i => i.SeriesInstanceUid).ThenBy(i => i.InstanceNumber).ThenBy(i => i.SopInstanceUid)
            .Skip(q.Offset).Take(q.Limit + 1).ToListAsync(ct).ConfigureAwait(false);
        bool more = page.Count > q.Limit;
        if (more) page.RemoveAt(page.Count - 1);
        bool studyAttrs = scope.StudyUid is null || q.IncludeAll || q.IncludeFields.Any(StudyLevelTags.Contains);
        bool seriesAttrs = scope.SeriesUid is null || q.IncludeAll || q.IncludeFields.Any(SeriesLevelTags.Contains);
        var result = new List<DicomDataset>(page.Count);
        foreach (var r in page)
        {
            var ds = NewDataset();
            if (studyAttrs)
            {
                AddStudy(ds, new StudyRow
                {
                    Uid = r.StudyInstanceUid, PatientName = r.PatientName, PatientId = r.PatientId, PatientBirthDate = r.PatientBirthDate, PatientSex = r.PatientSex,
                    StudyDate = r.StudyDate, StudyTime = r.StudyTime, AccessionNumber = r.AccessionNumber, StudyId = r.StudyId,
                    StudyDescription = r.StudyDescription, ReferringPhysicianName = r.ReferringPhysicianName,
                }, [], retrieveBase, includeCounts: false);
                if (scope.StudyUid is not null && !q.IncludeAll) Keep(ds, q.IncludeFields, StudyLevelTags);
            }
            if (seriesAttrs)
            {
                var seriesPart = NewDataset();
                Text(seriesPart, DicomTags.Modality, DicomVR.CS, r.Modality);
                Text(seriesPart, DicomTags.StationName, DicomVR.SH, r.StationName);
                Text(seriesPart, DicomTags.SeriesDescription, DicomVR.LO, r.SeriesDescription);
                Int(seriesPart, DicomTags.SeriesNumber, r.SeriesNumber);
                Text(seriesPart, DicomTags.PerformedProcedureStepStartDate, DicomVR.DA, r.PerformedProcedureStepStartDate);
                Text(seriesPart, DicomTags.PerformedProcedureStepStartTime, DicomVR.TM, r.PerformedProcedureStepStartTime);
                if (scope.SeriesUid is not null && !q.IncludeAll) Keep(seriesPart, q.IncludeFields, SeriesLevelTags);
                foreach (var item in seriesPart) if (item.Tag != SpecificCharacterSet) ds.AddOrUpdate(item);
            }
            Text(ds, DicomTags.SOPClassUID, DicomVR.UI, r.SopClassUid);
            Text(ds, DicomTags.SOPInstanceUID, DicomVR.UI, r.SopInstanceUid);
            Text(ds, DicomTags.InstanceAvailability, DicomVR.CS, "ONLINE");
            Text(ds, DicomTags.RetrieveURL, DicomVR.UR, $"{retrieveBase}/studies/{r.StudyInstanceUid}/series/{r.SeriesInstanceUid}/instances/{r.SopInstanceUid}");
            Text(ds, DicomTags.StudyInstanceUID, DicomVR.UI, r.StudyInstanceUid);
            Text(ds, DicomTags.SeriesInstanceUID, DicomVR.UI, r.SeriesInstanceUid);
            Int(ds, DicomTags.InstanceNumber, r.InstanceNumber);
            UShort(ds, DicomTags.Rows, r.Rows);
            UShort(ds, DicomTags.Columns, r.Columns);
            UShort(ds, DicomTags.BitsAllocated, r.BitsAllocated);
            Int(ds, DicomTags.NumberOfFrames, r.NumberOfFrames);
            result.Add(ds);
        }
        return new Result(result, more);
    }

    // ------------------------------------------------------------------ result building

    private static readonly DicomTag SpecificCharacterSet = new(0x00080005);

    internal static readonly HashSet<DicomTag> StudyLevelTags =
    [
        DicomTags.StudyDate, DicomTags.StudyTime, DicomTags.AccessionNumber, DicomTags.ReferringPhysicianName, DicomTags.StudyDescription,
        DicomTags.PatientName, DicomTags.PatientID, DicomTags.PatientBirthDate, DicomTags.PatientSex, DicomTags.StudyID,
    ];

    internal static readonly HashSet<DicomTag> SeriesLevelTags =
    [
        DicomTags.Modality, DicomTags.StationName, DicomTags.SeriesDescription, DicomTags.SeriesNumber,
        DicomTags.PerformedProcedureStepStartDate, DicomTags.PerformedProcedureStepStartTime,
    ];

    /// <summary>Of the attributes of <paramref name="level"/>, keeps those asked for with includefield (or as a matching key).</summary>
    private static void Keep(DicomDataset ds, IReadOnlySet<DicomTag> wanted, HashSet<DicomTag> level) =>
        ds.RemoveAll(item => level.Contains(item.Tag) && !wanted.Contains(item.Tag)
            || item.Tag == DicomTags.RetrieveURL || item.Tag == DicomTags.InstanceAvailability);

    /// <summary>Results are built in UTF-8 (ISO_IR 192), so any stored text, whatever its original character set, encodes.</summary>
    private static DicomDataset NewDataset()
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(SpecificCharacterSet, DicomVR.CS, "ISO_IR 192");
        return ds;
    }

    private static void Text(DicomDataset ds, DicomTag tag, DicomVR vr, string? value)
    {
        if (value is null) ds.AddOrUpdate(new DicomElement(tag, vr, ReadOnlyMemory<byte>.Empty)); // present, empty: F.2.5
        else ds.AddOrUpdate(tag, vr, value);
    }

    private static void Int(DicomDataset ds, DicomTag tag, int? value) =>
        Text(ds, tag, DicomVR.IS, value?.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static void UShort(DicomDataset ds, DicomTag tag, int? value)
    {
        if (value is int v and >= 0 and <= ushort.MaxValue) ds.AddOrUpdate(new DicomElement(tag, DicomVR.US, BitConverter.GetBytes((ushort)v)));
        else ds.AddOrUpdate(new DicomElement(tag, DicomVR.US, ReadOnlyMemory<byte>.Empty));
    }

    // ------------------------------------------------------------------ matching (PS3.4 C.2.2.2)

    private static IQueryable<InstanceRecord> Filter(IQueryable<InstanceRecord> q, QidoMatch m, bool sqlite)
    {
        var p = Expression.Parameter(typeof(InstanceRecord), "i");
        var column = Expression.Property(p, m.Key.Column);
        Expression body = m switch
        {
            QidoSingleValue s when m.Key.Kind == QidoKeyKind.PersonName =>
                // PN: case-insensitive (PS3.4 C.2.2.2.1 lets PN matching ignore case); upper() of both sides, ASCII only.
                Expression.Equal(Upper(column), Expression.Constant(UpperLike(s.Value, sqlite))),
            QidoSingleValue s => Expression.Equal(column, Expression.Constant(s.Value, typeof(string))),
            QidoWildcard w => Wildcard(m.Key.Kind == QidoKeyKind.PersonName ? Upper(column) : column,
                m.Key.Kind == QidoKeyKind.PersonName ? UpperLike(w.Pattern, sqlite) : w.Pattern, sqlite),
            QidoUidList l when l.Uids.Count == 1 => Expression.Equal(column, Expression.Constant(l.Uids[0], typeof(string))),
            QidoUidList l => Expression.Call(typeof(Enumerable), nameof(Enumerable.Contains), [typeof(string)], Expression.Constant(l.Uids.ToList()), column),
            QidoRange r => Range(column, r.From, r.To),
            QidoInteger n => Expression.Equal(column, Expression.Constant((int?)n.Value, typeof(int?))),
            _ => throw new InvalidOperationException(m.GetType().Name),
        };
        return q.Where(Expression.Lambda<Func<InstanceRecord, bool>>(body, p));
    }

    private static MethodCallExpression Upper(Expression column) => Expression.Call(column, typeof(string).GetMethod(nameof(string.ToUpper), Type.EmptyTypes)!);

    /// <summary>The pattern upper-cased as the database's upper() does it: SQLite only ASCII letters, PostgreSQL all letters.</summary>
    private static string UpperLike(string s, bool sqlite) => sqlite ? AsciiUpper(s) : s.ToUpperInvariant();

    private static string AsciiUpper(string s) => string.Create(s.Length, s, static (d, src) =>
    {
        for (int i = 0; i < src.Length; i++) d[i] = src[i] is >= 'a' and <= 'z' ? (char)(src[i] - 32) : src[i];
    });

    private static Expression Range(Expression column, string? from, string? to)
    {
        var compare = typeof(string).GetMethod(nameof(string.Compare), [typeof(string), typeof(string)])!;
        Expression notNull = Expression.NotEqual(column, Expression.Constant(null, typeof(string)));
        Expression result = notNull;
        if (from is not null)
            result = Expression.AndAlso(result, Expression.GreaterThanOrEqual(Expression.Call(compare, column, Expression.Constant(from)), Expression.Constant(0)));
        if (to is not null)
            result = Expression.AndAlso(result, Expression.LessThanOrEqual(Expression.Call(compare, column, Expression.Constant(to)), Expression.Constant(0)));
        return result;
    }

    /// <summary>'*' any run, '?' one character. SQLite: GLOB (case-sensitive, unlike its LIKE); PostgreSQL: LIKE (case-sensitive).</summary>
    private static MethodCallExpression Wildcard(Expression column, string pattern, bool sqlite)
    {
        if (sqlite)
        {
            var glob = pattern.Replace("[", "[[]", StringComparison.Ordinal);
            var method = typeof(SqliteDbFunctionsExtensions).GetMethod(nameof(SqliteDbFunctionsExtensions.Glob), [typeof(DbFunctions), typeof(string), typeof(string)])!;
            return Expression.Call(method, Expression.Constant(EF.Functions), column, Expression.Constant(glob));
        }
        var sb = new System.Text.StringBuilder(pattern.Length + 8);
        foreach (var c in pattern)
        {
            switch (c)
            {
                case '*': sb.Append('%'); break;
                case '?': sb.Append('_'); break;
                case '%' or '_' or '\\': sb.Append('\\').Append(c); break;
                default: sb.Append(c); break;
            }
        }
        var like = typeof(DbFunctionsExtensions).GetMethod(nameof(DbFunctionsExtensions.Like), [typeof(DbFunctions), typeof(string), typeof(string), typeof(string)])!;
        return Expression.Call(like, Expression.Constant(EF.Functions), column, Expression.Constant(sb.ToString()), Expression.Constant("\\"));
    }
}
