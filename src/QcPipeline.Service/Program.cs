using Microsoft.Extensions.Options;
using QcPipeline.Service;

// The service: DICOM C-STORE and DICOMweb receiver, analysis worker and API in one process. See README "The service".
bool started = false;
try
{
    var app = ServiceHost.Build(args);
    app.Lifetime.ApplicationStarted.Register(() => started = true);
    await app.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync("QcPipeline.Service: invalid configuration: " + string.Join("; ", ex.Failures)).ConfigureAwait(false);
    return 2;
}
catch (Exception ex) when (!started && ex is System.Data.Common.DbException or System.Net.Sockets.SocketException or TimeoutException)
{
    // The database (index and results, migrated at start) could not be reached: a dependency that is down, not a bad
    // setting. One clear line and its own exit code, so an orchestrator restarts the process and an operator sees why.
    await Console.Error.WriteLineAsync($"QcPipeline.Service: start-up failed: the database is unreachable ({ex.GetType().Name}: {ex.Message})").ConfigureAwait(false);
    return 3;
}
catch (Exception ex) when (!started && ex is InvalidOperationException or IOException or UnauthorizedAccessException)
{
    // Configuration binding ("Failed to convert configuration value at 'Dicom:Port' ..."), an HTTP address already in use
    // (IOException from Kestrel), a data folder that cannot be made: a clear line and exit code 2, no stack trace.
    await Console.Error.WriteLineAsync("QcPipeline.Service: start-up failed: " + ex.Message).ConfigureAwait(false);
    return 2;
}
