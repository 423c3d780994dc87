using System.Text.Json;

namespace Recipes.Tests.Distributed;

/// <summary>What a cluster driver's output folder must hold after a job: the job's result as a local run writes it
/// (metrics.json, the model, charts), taken from one worker, with paths that name the driver's copies.</summary>
static class ClusterJobResult
{
    public static void AssertDriverHoldsTheResult(string output, string recipe, int workers)
    {
        // Where the recipe writes metrics.json in its output folder (ncf-recommendation: one subfolder per mode), as
        // its workers did in theirs.
        string workerMetrics = Directory.GetFiles(Path.Combine(output, "workers"), "metrics.json", SearchOption.AllDirectories).First();
        string[] parts = Path.GetRelativePath(Path.Combine(output, "workers"), workerMetrics).Split(Path.DirectorySeparatorChar);
        string metricsPath = Path.Combine([output, .. parts[1..]]);
        Assert.True(File.Exists(metricsPath), $"no {Path.GetRelativePath(output, metricsPath)} in the driver's folder {output}: " +
            string.Join(", ", Directory.GetFileSystemEntries(output).Select(Path.GetFileName)));
        using var metrics = JsonDocument.Parse(File.ReadAllText(metricsPath));
        var root = metrics.RootElement;
        Assert.Equal(recipe, root.GetProperty("recipe").GetString());
        Assert.True(root.GetProperty("metrics").EnumerateObject().Any(), "metrics.json has no metrics");
        var cluster = root.GetProperty("cluster");
        Assert.Equal($"cluster[{workers}]", cluster.GetProperty("master").GetString());
        if (root.TryGetProperty("master", out var master)) Assert.Equal($"cluster[{workers}]", master.GetString());
        int from = cluster.GetProperty("results_from_worker").GetInt32();
        string workerFolder = Path.Combine(output, "workers", from.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Every file of the worker's result is in the driver's folder, whole; its checkpoints stay with the worker.
        foreach (string file in Directory.GetFiles(workerFolder, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(workerFolder, file);
            if (relative.Split(Path.DirectorySeparatorChar).Contains("checkpoint") || Path.GetFileName(relative) == "metrics.json") continue;
            var copy = new FileInfo(Path.Combine(output, relative));
            Assert.True(copy.Exists, $"{relative} of worker {from} is missing from the driver's folder");
            Assert.Equal(new FileInfo(file).Length, copy.Length);
        }
        Assert.DoesNotContain(Directory.GetFiles(output, "latest.ckpt", SearchOption.AllDirectories),
            path => !path.Contains($"{Path.DirectorySeparatorChar}workers{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        Assert.Empty(Directory.GetDirectories(output, ".results-*")); // no staging folder left behind

        // Paths in metrics.json name the driver's copies, which exist.
        foreach (string path in Strings(root).Where(text => text.StartsWith(Path.GetTempPath(), StringComparison.Ordinal)))
        {
            if (path == cluster.GetProperty("worker_folder").GetString()) continue;
            Assert.DoesNotContain($"{Path.DirectorySeparatorChar}workers{Path.DirectorySeparatorChar}", path);
            Assert.True(File.Exists(path) || Directory.Exists(path), $"metrics.json names {path}, which does not exist");
        }
    }

    static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Object => element.EnumerateObject().SelectMany(property => Strings(property.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        _ => [],
    };
}
