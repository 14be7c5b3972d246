using QcPipeline.Dicom.Network;

namespace QcPipeline.Service.Ingest;

/// <summary>The toolkit's C-STORE SCP interface on top of the ingest path.</summary>
internal sealed class DimseStoreHandler(IngestService ingest) : IStoreHandler
{
    public async ValueTask<IInstanceSink> OpenAsync(StoreRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var instance = await ingest.BeginAsync(new IngestRequest(IngestSource.Dimse, request.Association.CallingAeTitle,
                request.SopClassUid, request.SopInstanceUid, request.TransferSyntaxUid), cancellationToken).ConfigureAwait(false);
            return new Sink(instance);
        }
        catch (IngestFailedException ex)
        {
            throw ex.ToStoreFailed();
        }
    }

    private sealed class Sink(IncomingInstance instance) : IInstanceSink
    {
        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            try
            {
                await instance.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            }
            catch (IngestFailedException ex)
            {
                throw ex.ToStoreFailed();
            }
        }

        public async ValueTask<StoreOutcome> CompleteAsync(CancellationToken cancellationToken)
        {
            var result = await instance.CompleteAsync(cancellationToken).ConfigureAwait(false);
            return new StoreOutcome(result.DicomStatus, result.IsSuccess ? null : result.Reason);
        }

        public ValueTask DisposeAsync() => instance.DisposeAsync();
    }
}
