using System.Diagnostics;
using Spectre.Console;

namespace Recipes.Benchmarks;

/// <summary>
/// Runs one of the Python reference scripts copied next to the benchmark (python/*.py) and hands back the lines it
/// printed. A benchmark prints its own figures whatever happens to the reference, so a missing interpreter, a
/// missing package or a failing script is not an exception: the reason is printed (the last line of the script's
/// standard error, and the packages to install) and the result is null.
/// </summary>
static class PythonReference
{
    /// <param name="python">The interpreter (the benchmarks' --python).</param>
    /// <param name="script">The script's file name under python/.</param>
    /// <param name="arguments">The script's arguments, each passed as one argument (no shell quoting).</param>
    /// <param name="reference">What the reference is, for the messages ("PyTorch reference").</param>
    /// <param name="packages">The Debian packages it needs, for the messages ("python3-torch python3-torchvision").</param>
    /// <returns>The non-empty, trimmed lines of standard output; null when the reference could not run.</returns>
    public static string[]? Run(string python, string script, IEnumerable<string> arguments, string reference, string packages)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "python", script));
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            // Both streams at once: a script that fills the error pipe while we wait on the output one would hang.
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                AnsiConsole.MarkupLineInterpolated($"[yellow]{reference} failed ({python} {script}): {errors.Result.Trim().Split('\n').LastOrDefault()} (apt-get install {packages})[/]");
                return null;
            }
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]{python} not found: apt-get install {packages} for the {reference}[/]");
            return null;
        }
    }
}
