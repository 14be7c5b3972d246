using System.CommandLine;
using System.Globalization;
using QcPipeline.Dicom.IO;
using QcPipeline.Phantoms;
using QcPipeline.Phantoms.Ct;
using QcPipeline.Phantoms.Dr;
using QcPipeline.Phantoms.Mr;

namespace QcPipeline.Cli.Commands;

/// <summary><c>qc phantom ct-water|dr|mr|samples -o DIR [options]</c>: a simulated phantom set with its truth manifest
/// (<c>manifest.json</c>), through the <see cref="QcPipeline.Phantoms"/> API. Every option maps to a field of the
/// options record; what is not given keeps the record's default. Exit 0, 1 when the files cannot be written, 3 on a
/// usage error (including options the generator rejects).</summary>
public static class PhantomCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("phantom", "Generate a simulated phantom set (DICOM files + manifest.json with the true values)");
        command.Add(CtWater(console));
        command.Add(Dr(console));
        command.Add(Mr(console));
        command.Add(Samples(console));
        return command;
    }

    private static Option<string> OutputOption(string description) =>
        new("--output", "-o") { Description = description, Required = true };

    private static Option<int?> SeedOption() => new("--seed") { Description = "Random seed (same seed and options: same files, byte for byte)" };

    private static Option<string> TsOption()
    {
        var ts = new Option<string>("--ts") { Description = "Transfer syntax of the files", DefaultValueFactory = _ => "explicit-le" };
        ts.AcceptOnlyFromAmong([.. ConvertCommand.Syntaxes.Keys]);
        return ts;
    }

    private static Command CtWater(CliConsole console)
    {
        var output = OutputOption("Folder to write the series and manifest.json into");
        var seed = SeedOption();
        var ts = TsOption();
        var slices = new Option<int?>("--slices") { Description = "Number of slices (default 1)" };
        var diameter = new Option<double?>("--diameter") { Description = "Water cylinder diameter in mm (default 200)" };
        var matrix = new Option<int?>("--matrix") { Description = "Image matrix: 512 (default), 768 or 1024" };
        var offsetX = new Option<double?>("--offset-x") { Description = "Cylinder centre right of the isocentre, mm" };
        var offsetY = new Option<double?>("--offset-y") { Description = "Cylinder centre below the isocentre, mm" };
        var huOffset = new Option<double?>("--hu-offset") { Description = "CT-number offset added to every value, HU (a mis-calibration)" };
        var cupping = new Option<double?>("--cupping") { Description = "Beam-hardening fraction lost by the central ray (> 0 cupping, < 0 capping)" };
        var mas = new Option<double?>("--mas") { Description = "Tube current-time product, mAs (default 250; noise goes as 1/sqrt(mAs))" };
        var thickness = new Option<double?>("--thickness") { Description = "Slice thickness, mm (default 5)" };
        var kernel = new Option<string?>("--kernel") { Description = "Reconstruction kernel" };
        kernel.AcceptOnlyFromAmong("ramlak", "shepp-logan", "soft", "standard", "sharp");
        var command = new Command("ct-water", "A CT water phantom series") { output, seed, ts, slices, diameter, matrix, offsetX, offsetY, huOffset, cupping, mas, thickness, kernel };
        command.SetAction(r =>
        {
            var o = new CtWaterOptions();
            if (r.GetValue(seed) is { } s) o = o with { Seed = s };
            if (r.GetValue(slices) is { } n) o = o with { SliceCount = n };
            if (r.GetValue(diameter) is { } d) o = o with { PhantomDiameterMm = d };
            if (r.GetValue(matrix) is { } m) o = o with { Matrix = m };
            if (r.GetValue(offsetX) is { } x) o = o with { OffsetXMm = x };
            if (r.GetValue(offsetY) is { } y) o = o with { OffsetYMm = y };
            if (r.GetValue(huOffset) is { } hu) o = o with { CtNumberOffsetHu = hu };
            if (r.GetValue(cupping) is { } c) o = o with { CuppingFraction = c };
            // mAs = mA × s: the exposure time stays at its default and the tube current follows.
            if (r.GetValue(mas) is { } q) o = o with { TubeCurrentMa = q * 1000.0 / o.ExposureTimeMs };
            if (r.GetValue(thickness) is { } t) o = o with { SliceThicknessMm = t };
            if (r.GetValue(kernel) is { } k)
            {
                o = o with
                {
                    Kernel = k switch
                    {
                        "ramlak" => CtKernel.RamLak,
                        "shepp-logan" => CtKernel.SheppLogan,
                        "soft" => CtKernel.Soft,
                        "sharp" => CtKernel.Sharp,
                        _ => CtKernel.Standard,
                    },
                };
            }
            var options = o;
            return Write(console, r.GetRequiredValue(output), dir => CtWaterPhantom.Generate(options).WriteTo(dir, Syntax(r.GetValue(ts))));
        });
        return command;
    }

    private static Command Dr(CliConsole console)
    {
        var output = OutputOption("Folder to write the images and manifest.json into");
        var seed = SeedOption();
        var ts = TsOption();
        var kind = new Option<string>("--kind")
        {
            Description = "Which tests beside the flat field (always image 1): all (default), flat, stp (signal transfer), dark, lag",
            DefaultValueFactory = _ => "all",
        };
        kind.AcceptOnlyFromAmong("all", "flat", "stp", "dark", "lag");
        var size = new Option<int?>("--size") { Description = "Image width and height in pixels (default 1024)" };
        var spacing = new Option<double?>("--spacing") { Description = "Pixel spacing, mm (default 0.4)" };
        var dose = new Option<double?>("--dose") { Description = "Reference detector air kerma of the flat field, uGy (default 2.5)" };
        var lag = new Option<double?>("--lag") { Description = "Residual signal fraction in the image after the attenuator exposure (default 0.02)" };
        var deadPixels = new Option<int?>("--dead-pixels") { Description = "Number of dead pixels" };
        var monochrome1 = new Option<bool>("--monochrome1") { Description = "Store MONOCHROME1 (inverted) pixels" };
        var forPresentation = new Option<bool>("--for-presentation") { Description = "Write DX For Presentation instead of For Processing" };
        var command = new Command("dr", "A DR detector constancy session: flat field, signal transfer, dark image, lag pair")
        {
            output, seed, ts, kind, size, spacing, dose, lag, deadPixels, monochrome1, forPresentation,
        };
        command.SetAction(r =>
        {
            var o = new DrOptions();
            if (r.GetValue(seed) is { } s) o = o with { Seed = s };
            if (r.GetValue(size) is { } n) o = o with { Width = n, Height = n };
            if (r.GetValue(spacing) is { } sp) o = o with { PixelSpacingMm = sp };
            if (r.GetValue(dose) is { } k) o = o with { ReferenceKermaUgy = k };
            if (r.GetValue(lag) is { } l) o = o with { LagFraction = l };
            if (r.GetValue(deadPixels) is { } dp) o = o with { DeadPixels = dp };
            if (r.GetValue(monochrome1)) o = o with { Photometric = "MONOCHROME1" };
            if (r.GetValue(forPresentation)) o = o with { PresentationIntent = DrPresentationIntent.ForPresentation };
            string which = r.GetValue(kind) ?? "all";
            if (which != "all")
                o = o with { IncludeSignalTransfer = which == "stp", IncludeDark = which == "dark", IncludeLag = which == "lag" };
            var options = o;
            return Write(console, r.GetRequiredValue(output), dir => DrPhantom.Generate(options).WriteTo(dir, Syntax(r.GetValue(ts))));
        });
        return command;
    }

    private static Command Mr(CliConsole console)
    {
        var output = OutputOption("Folder to write the images and manifest.json into");
        var seed = SeedOption();
        var ts = TsOption();
        var matrix = new Option<int?>("--matrix") { Description = "Image matrix (default 256)" };
        var noise = new Option<double?>("--noise") { Description = "Noise sigma per channel, pixel units (default 10)" };
        var snr = new Option<double?>("--snr") { Description = "Target SNR: noise sigma = signal / SNR (instead of --noise)" };
        var ghost = new Option<double?>("--ghost") { Description = "N/2 ghost amplitude as a fraction of the object (default 0.01)" };
        var images = new Option<int?>("--images") { Description = "Acquisitions of the same slice (default 2: two-image SNR; 1: single image)" };
        var field = new Option<double?>("--field") { Description = "Magnetic field strength, T (default 1.5)" };
        var command = new Command("mr", "A uniform MR phantom slice (ACR-like disc)") { output, seed, ts, matrix, noise, snr, ghost, images, field };
        command.Validators.Add(r =>
        {
            if (r.GetResult(noise) is not null && r.GetResult(snr) is not null) r.AddError("--noise and --snr cannot be used together");
        });
        command.SetAction(r =>
        {
            var o = new MrOptions();
            if (r.GetValue(seed) is { } s) o = o with { Seed = s };
            if (r.GetValue(matrix) is { } m) o = o with { Matrix = m };
            if (r.GetValue(noise) is { } n) o = o with { NoiseSigma = n };
            if (r.GetValue(snr) is { } target) o = o with { NoiseSigma = target > 0 ? o.Signal / target : -1 };
            if (r.GetValue(ghost) is { } g) o = o with { GhostAmplitude = g };
            if (r.GetValue(images) is { } i) o = o with { ImageCount = i };
            if (r.GetValue(field) is { } b0) o = o with { MagneticFieldStrengthT = b0 };
            var options = o;
            return Write(console, r.GetRequiredValue(output), dir => MrPhantom.Generate(options).WriteTo(dir, Syntax(r.GetValue(ts))));
        });
        return command;
    }

    private static Command Samples(CliConsole console)
    {
        var output = OutputOption("The phantoms/ folder of the repository (each sample set is a subfolder)");
        var command = new Command("samples", "Regenerate the committed sample sets (phantoms/ct-water-200mm, dr-flat, mr-uniform)") { output };
        command.SetAction(r =>
        {
            string dir = r.GetRequiredValue(output);
            try
            {
                PhantomSamples.WriteAll(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                console.Fail(dir, ex.Message);
                return ExitCodes.Failed;
            }
            foreach (var name in PhantomSamples.All.Keys) Summarise(console, Path.Combine(dir, name));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static TransferSyntax Syntax(string? name) => ConvertCommand.Syntaxes[name ?? "explicit-le"];

    private static int Write(CliConsole console, string dir, Action<string> write)
    {
        try
        {
            write(dir);
        }
        catch (ArgumentException ex)
        {
            // The options records validate themselves (e.g. a phantom beyond the scan field): a usage error.
            console.Error.WriteLine($"qc: invalid phantom options: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            console.Fail(dir, ex.Message);
            return ExitCodes.Failed;
        }
        Summarise(console, dir);
        return ExitCodes.Ok;
    }

    /// <summary>One line per set and one per true value, from the manifest just written.</summary>
    private static void Summarise(CliConsole console, string dir)
    {
        var manifest = PhantomManifest.FromJson(File.ReadAllText(Path.Combine(dir, "manifest.json")));
        console.Out.WriteLine($"{dir}: {manifest.Kind}, {manifest.Files.Count} file(s), series {manifest.SeriesInstanceUid}, seed {manifest.Seed}");
        foreach (var (name, truth) in manifest.Truth)
        {
            string tolerance = truth.Tolerance is { } t ? string.Create(CultureInfo.InvariantCulture, $" ± {t:G4}") : "";
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} = {truth.Value:G6}{tolerance} {truth.Unit}{(truth.Approximate ? " (model value)" : "")}"));
        }
    }
}
