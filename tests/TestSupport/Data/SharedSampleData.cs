namespace Recipes.Tests.Data;

/// <summary>The real sample files in <c>../shared/data</c> beside the repository (DESIGN.md section 5).</summary>
static class SharedSampleData
{
    public static string NycTaxiCsv => Find(Path.Combine("nyc-taxi", "nyc_taxi.csv"));

    public static string Find(string relativePath)
    {
        // Walk up from the test binaries to the repository root (the folder with Recipes.sln); the samples sit beside it.
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (!File.Exists(Path.Combine(folder.FullName, "Recipes.sln"))) continue;
            string path = Path.Combine(folder.Parent?.FullName ?? folder.FullName, "shared", "data", relativePath);
            Assert.True(File.Exists(path), $"the sample file {path} is missing: tests expect ../shared/data beside the repository");
            return path;
        }
        throw new InvalidOperationException($"no Recipes.sln above {AppContext.BaseDirectory}");
    }
}
