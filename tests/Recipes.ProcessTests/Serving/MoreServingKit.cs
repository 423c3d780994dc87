using Recipes.Tests.Recipes;

namespace Recipes.Tests.Serving;

/// <summary>
/// A recipe trained once by its tiniest run (as a separate process) into a temporary folder, for the serving tests of
/// a recipe whose saved file is not <c>&lt;output&gt;/model.bin</c> (image-similarity's index, ncf's per-task model).
/// </summary>
public abstract class TrainedRecipeOutput : IDisposable
{
    protected TrainedRecipeOutput(string recipe, IReadOnlyList<string> arguments, string savedFile, TimeSpan limit)
    {
        Folder = Path.Combine(Path.GetTempPath(), $"serve-{recipe}-{Guid.NewGuid():N}");
        Output = Path.Combine(Folder, "run");
        SavedPath = Path.Combine(Output, savedFile);
        var run = RecipeProcess.Run(recipe, [.. arguments, "--output", Output, "--cache", Path.Combine(Folder, "cache")], limit);
        if (run.ExitCode != 0 || !File.Exists(SavedPath))
            throw new Xunit.Sdk.XunitException($"training {recipe} for the serving tests failed (exit {run.ExitCode}): {run.Output}{run.Errors}");
    }

    public string Folder { get; }
    public string Output { get; }

    /// <summary>What the recipe saved for serving.</summary>
    public string SavedPath { get; }

    public void Dispose()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}
