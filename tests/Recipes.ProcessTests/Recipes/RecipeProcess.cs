using System.Diagnostics;

namespace Recipes.Tests.Recipes;

/// <summary>Runs a built recipe as its own process, as a user would, with a time limit.</summary>
static class RecipeProcess
{
    public sealed record Outcome(int ExitCode, string Output, string Errors);

    /// <summary>
    /// The recipe's own build (recipes/NAME/bin/CONFIG/TFM/NAME.dll), run with its own deps and runtimeconfig as a user
    /// runs it. The copy next to the tests carries the recipe's deps.json but not every file it lists: the tests take
    /// ASP.NET Core's assemblies (Microsoft.Extensions.ObjectPool, which Akka needs) from that shared framework, which a
    /// recipe that does not serve does not load, so a non-serving recipe run from there failed in cluster mode.
    /// </summary>
    public static string AssemblyOf(string recipe)
    {
        var testsOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        // tests/Recipes.ProcessTests/bin/CONFIG/TFM: the repository is five levels up.
        string? repository = testsOutput.Parent?.Parent?.Parent?.Parent?.Parent?.FullName;
        if (repository is not null)
        {
            string own = Path.Combine(repository, "recipes", recipe, "bin", testsOutput.Parent!.Name, testsOutput.Name, $"{recipe}.dll");
            if (File.Exists(own)) return own;
        }
        return Path.Combine(AppContext.BaseDirectory, $"{recipe}.dll");
    }

    public static Outcome Run(string recipe, IEnumerable<string> arguments, TimeSpan? limit = null)
    {
        string assembly = AssemblyOf(recipe);
        Assert.True(File.Exists(assembly), $"{assembly} was not built");
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
