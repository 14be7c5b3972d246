using Microsoft.EntityFrameworkCore;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Service.Index;

namespace QcPipeline.Service.Ingest;

/// <summary>Start-up repair of the instance store, before the listener accepts anything: leftovers in <c>tmp/</c> are
/// instances that were never answered with success, so they are deleted; a file under <c>instances/</c> without its index
/// row (a crash between the rename and the commit) is indexed, and one whose size differs from its row (a crash in the
/// middle of a replacement) is re-indexed. With the object store only <c>tmp/</c> is cleaned.</summary>
public sealed class InstanceStoreReconciler(StoragePaths paths, IngestService ingest, IDbContextFactory<IndexDbContext> dbFactory, TimeProvider time,
    ILogger<InstanceStoreReconciler> logger)
{
    public sealed record Report(int TempFilesDeleted, int FilesSeen, int Indexed, int Reindexed, int Unreadable)
    {
        /// <summary>Rows from before the QIDO-RS query columns existed, filled in from their files.</summary>
        public int Backfilled { get; init; }
    }

    public async Task<Report> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(paths.Root);
        if (ingest.ObjectStore is null) Directory.CreateDirectory(paths.Instances);
        int deleted = 0;
        if (Directory.Exists(paths.Tmp))
        {
            foreach (var f in Directory.EnumerateFileSystemEntries(paths.Tmp))
            {
                if (Directory.Exists(f)) Directory.Delete(f, recursive: true); else File.Delete(f);
                deleted++;
            }
        }
        Directory.CreateDirectory(paths.Tmp);
        if (ingest.ObjectStore is not null)
        {
            // The instances are objects: an upload whose commit failed was deleted then, and one cut off by a crash between
            // upload and commit was never answered with success (the sender sends it again). Listing and reading a whole
            // bucket at every start would cost more than it repairs, so only the spool is cleaned here.
            logger.LogInformation("Instance store reconciled: {TempDeleted} temp files deleted (instances in the object store are not scanned)", deleted);
            return new Report(deleted, 0, 0, 0, 0);
        }

        Dictionary<string, (string Path, long Size, bool HasAttributes)> rows;
        var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            rows = await db.Instances.AsNoTracking().Select(i => new { i.SopInstanceUid, i.Path, i.Size, i.HasQueryAttributes })
                .ToDictionaryAsync(i => i.SopInstanceUid, i => (i.Path, i.Size, i.HasQueryAttributes), StringComparer.Ordinal, cancellationToken).ConfigureAwait(false);
        }

        int seen = 0, indexed = 0, reindexed = 0, unreadable = 0, backfilled = 0;
        foreach (var file in Directory.EnumerateFiles(paths.Instances, "*", SearchOption.AllDirectories))
        {
            cancellationToken.ThrowIfCancellationRequested();
            seen++;
            var rel = Path.GetRelativePath(paths.Root, file).Replace(Path.DirectorySeparatorChar, '/');
            var sopFromName = Path.GetFileNameWithoutExtension(file);
            long size = new FileInfo(file).Length;
            // A row from before the QIDO query columns existed is read again so that they are filled in (backfill).
            if (rows.TryGetValue(sopFromName, out var row) && row.Path == rel && row.Size == size && row.HasAttributes) continue;
            if (rows.TryGetValue(sopFromName, out row) && row.Path != rel && File.Exists(paths.FullPath(row.Path)))
            {
                logger.LogWarning("Reconcile: a stale copy of an instance that is indexed elsewhere was left in place");
                continue;
            }
            var entry = await ReadEntryAsync(file, rel, size, cancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                unreadable++;
                continue;
            }
            var result = await ingest.Writer.CommitAsync(entry, cancellationToken).ConfigureAwait(false);
            if (result.Kind == IndexCommitKind.Inserted) indexed++; else if (result.Kind == IndexCommitKind.Updated) reindexed++;
            else if (result.Kind == IndexCommitKind.Unchanged) backfilled++;
        }
        var report = new Report(deleted, seen, indexed, reindexed, unreadable) { Backfilled = backfilled };
        logger.LogInformation("Instance store reconciled: {TempDeleted} temp files deleted, {Files} files, {Indexed} indexed, {Reindexed} re-indexed, {Backfilled} query attributes filled in, {Unreadable} unreadable",
            deleted, seen, indexed, reindexed, backfilled, unreadable);
        return report;
    }

    private async Task<IndexEntry?> ReadEntryAsync(string file, string rel, long size, CancellationToken ct)
    {
        try
        {
            using var header = DicomFile.Open(file, DicomReadOptions.HeaderOnly);
            var ds = header.Dataset;
            string? sop = ds.GetString(DicomTags.SOPInstanceUID)?.TrimEnd('\0', ' ');
            string? cls = ds.GetString(DicomTags.SOPClassUID)?.TrimEnd('\0', ' ');
            string? study = ds.GetString(DicomTags.StudyInstanceUID)?.TrimEnd('\0', ' ');
            string? series = ds.GetString(DicomTags.SeriesInstanceUID)?.TrimEnd('\0', ' ');
            if (!UidRules.IsValid(sop) || !UidRules.IsValid(study) || !UidRules.IsValid(series) || string.IsNullOrEmpty(cls)
                || StoragePaths.RelativeInstancePath(study!, series!, sop!) != rel)
            {
                logger.LogWarning("Reconcile: a file under instances/ does not match its place or has invalid UIDs; left unindexed");
                return null;
            }
            var sha = await IncomingInstance.HashFromAsync(file, header.DatasetOffset, ct).ConfigureAwait(false);
            var ae = header.FileMetaInformation.GetString(new DicomTag(0x00020016))?.Trim();
            return new IndexEntry(sop!, cls, study!, series!, ds.GetString(DicomTags.Modality)?.Trim(), header.TransferSyntax.Uid, rel, size, sha,
                time.GetUtcNow(), "reconcile", string.IsNullOrEmpty(ae) ? null : ae, IndexAttributes.From(ds));
        }
        catch (Exception ex) when (ex is DicomFormatException or IOException or InvalidDataException)
        {
            logger.LogWarning("Reconcile: a file under instances/ cannot be read ({ExceptionType}); left unindexed", ex.GetType().Name);
            return null;
        }
    }
}
