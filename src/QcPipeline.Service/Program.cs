using Microsoft.Extensions.Options;
using QcPipeline.Service;

// The service: DICOM C-STORE receiver (more roles come with later issues). See README "The service".
try
{
    await ServiceHost.Build(args).RunAsync().ConfigureAwait(false);
    return 0;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync("QcPipeline.Service: invalid configuration: " + string.Join("; ", ex.Failures)).ConfigureAwait(false);
    return 2;
}
catch (InvalidOperationException ex)
{
    // Configuration binding ("Failed to convert configuration value at 'Dicom:Port' ...") and an unbindable port.
    await Console.Error.WriteLineAsync("QcPipeline.Service: start-up failed: " + ex.Message).ConfigureAwait(false);
    return 2;
}
