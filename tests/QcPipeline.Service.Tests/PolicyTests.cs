namespace QcPipeline.Service.Tests;

public sealed class PolicyTests
{
    [Fact]
    public async Task An_allowed_devices_list_rejects_an_unknown_calling_AE()
    {
        await using var svc = await InProcessService.StartAsync(null,
            "--Dicom:AllowedDevices:0:AeTitle=MODALITY1", "--Dicom:AllowedDevices:0:Hosts:0=127.0.0.1", "--Dicom:AllowedDevices:1:AeTitle=PACS");
        var unknown = await Support.EchoScuAsync(svc.DicomPort, callingAe: "UNKNOWN");
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("Association Rejected", unknown.All, StringComparison.Ordinal);
        Assert.Equal(0, (await Support.EchoScuAsync(svc.DicomPort, callingAe: "MODALITY1")).ExitCode);
        Assert.Equal(0, (await Support.EchoScuAsync(svc.DicomPort, callingAe: "PACS")).ExitCode);
        Assert.Equal(1, svc.Metrics.AssociationsTotal.WithLabels("rejected").Value);
    }
}
