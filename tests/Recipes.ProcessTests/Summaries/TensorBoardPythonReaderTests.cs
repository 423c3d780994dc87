using System.Diagnostics;
using System.Globalization;
using Recipes.Runtime.Summaries;

namespace Recipes.Tests.Summaries;

/// <summary>
/// Our TensorBoard event file read by TensorBoard itself (Python, as its own process), where tensorboard or tensorflow
/// is installed. The writer's own format tests are in Recipes.UnitTests (TensorBoardWriterTests).
/// </summary>
public class TensorBoardPythonReaderTests
{
    [Fact]
    public void Python_TensorBoard_reads_our_file_when_it_is_installed()
    {
        string? reader = PythonEventReaderOrNull();
        if (reader is null) return; // Neither tensorboard nor tensorflow is importable here: nothing to compare against.

        using var folder = new TemporaryFolder();
        string path;
        using (var writer = new TensorBoardWriter(folder.Path))
        {
            path = writer.FilePath;
            writer.AddScalar("train/loss", 0.123456f, 5);
            writer.AddScalars(6, [new("val/accuracy", 0.9871f), new("val/loss", 3.5f)]);
        }
        string script = folder.File("read_events.py");
        File.WriteAllText(script, reader);
        var (exitCode, output) = RunPython(script, path);
        Assert.True(exitCode == 0, output);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("version\tbrain.Event:2", lines[0]);
        var parsed = lines.Skip(1).Select(line => line.Split('\t'))
            .Select(parts => (parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture), (float)double.Parse(parts[2], CultureInfo.InvariantCulture)))
            .ToArray();
        Assert.Equal([("train/loss", 5L, 0.123456f), ("val/accuracy", 6L, 0.9871f), ("val/loss", 6L, 3.5f)], parsed);
    }

    // The legacy loader yields events as written; the newer one turns simple_value into tensors.
    const string PythonReaderScript = """
        import sys
        try:
            from tensorboard.backend.event_processing import event_file_loader as loaders
            load = getattr(loaders, "LegacyEventFileLoader", None) or loaders.EventFileLoader
            events = load(sys.argv[1]).Load()
        except ImportError:
            import tensorflow as tf
            events = tf.compat.v1.train.summary_iterator(sys.argv[1])
        for event in events:
            if event.file_version:
                print("version\t" + event.file_version)
            for value in event.summary.value:
                number = value.simple_value if value.HasField("simple_value") else value.tensor.float_val[0]
                print(f"{value.tag}\t{event.step}\t{number!r}")
        """;

    static string? PythonEventReaderOrNull()
    {
        foreach (string module in new[] { "tensorboard", "tensorflow" })
        {
            try
            {
                var (exitCode, _) = RunPython("-c", $"import {module}");
                if (exitCode == 0) return PythonReaderScript;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null; // No python3 at all.
            }
        }
        return null;
    }

    static (int ExitCode, string Output) RunPython(params string[] arguments)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "python3 did not finish within 60 s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
