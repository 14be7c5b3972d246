namespace QcPipeline.Service.Ingest;

/// <summary>Where the DICOM listener is bound (the real port when <c>Dicom:Port</c> is 0), for readiness and for tests.</summary>
public sealed class DimseListenerState
{
    private volatile int _port;
    private volatile bool _bound;

    public int Port => _port;
    public bool IsBound => _bound;

    internal void SetBound(int port)
    {
        _port = port;
        _bound = true;
    }

    internal void SetStopped() => _bound = false;
}
