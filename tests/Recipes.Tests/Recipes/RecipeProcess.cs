using System.Diagnostics;

namespace Recipes.Tests.Recipes;

/// <summary>Runs a built recipe as its own process, as a user would, with a time limit.</summary>
static class RecipeProcess
{
    public sealed record Outcome(int ExitCode, string Output, string Errors);

    public static Outcome Run(string recipe, IEnumerable<string> arguments, TimeSpan? limit = null)
    {
        string assembly = Path.Combine(AppContext.BaseDirectory, $"{recipe}.dll");
        Assert.True(File.Exists(assembly), $"{assembly} was not built next to the tests");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit ?? TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{recipe} did not finish within {limit ?? TimeSpan.FromMinutes(5)}: {output.Result}");
        }
        return new Outcome(process.ExitCode, output.Result, errors.Result);
    }
}
