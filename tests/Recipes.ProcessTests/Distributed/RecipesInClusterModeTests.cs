using System.Text.RegularExpressions;
using Recipes.Runtime.Distributed.Cluster;

namespace Recipes.Tests.Distributed;

/// <summary>Recipes besides mnist in cluster mode: their workers train through the gradient ring (every step
/// summed over both), rather than each doing the whole job alone.</summary>
public sealed class RecipesInClusterModeTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"recipes-cluster-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData("anomaly-detection")]
    [InlineData("ncf-recommendation", "--dataset", "ml-100k")] // generated in ML-100K's size
    [InlineData("xray", "--phantoms", "80", "--batch-size", "8")] // phantoms, a few steps
    [InlineData("object-detection", "--scenes", "40", "--batch-size", "8")] // generated scenes, a few steps
    public void Both_workers_take_every_step_through_the_ring(string recipe, params string[] quick)
    {
        var secret = new Dictionary<string, string> { [ClusterSecret.EnvironmentVariable] = "recipes-in-cluster-mode" };
        int port = RecipeProcessGroup.FreePort();
        using var processes = new RecipeProcessGroup();
        processes.Start("driver", recipe, ["--offline", "--epochs", "1", "--cache", Path.Combine(_folder, "cache"), "--master", "cluster[2]",
            "--cluster-listen", $"127.0.0.1:{port}", "--output", Path.Combine(_folder, recipe), .. quick], secret);
        processes.Start("w0", recipe, ["worker", "--join", $"127.0.0.1:{port}"], secret);
        processes.Start("w1", recipe, ["worker", "--join", $"127.0.0.1:{port}"], secret);
        string Logs() => $"driver:\n{processes.Output("driver")}\n--- w0:\n{processes.Output("w0")}\n--- w1:\n{processes.Output("w1")}";
        Assert.True(processes.WaitForExit("driver", TimeSpan.FromMinutes(4)) == 0, Logs());

        // Two healthy workers on one machine: neither may be lost (the driver would carry on with the other and
        // still end well), and each reports its end.
        Assert.False(processes.Output("driver").Contains(": lost worker", StringComparison.Ordinal), $"a healthy worker was lost:\n{Logs()}");
        var finished = Regex.Matches(processes.Output("driver"), @"finished with exit code 0 after (\d+) steps");
        Assert.True(finished.Count == 2, $"expected both workers to finish:\n{Logs()}");
        Assert.All(finished, match => Assert.True(long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, match.Value));
        Assert.Equal(finished[0].Groups[1].Value, finished[1].Groups[1].Value);
        Assert.DoesNotContain("never summed a gradient over the ring", processes.Output("w0") + processes.Output("w1"));
        // The driver's --output holds the job's result, where a local run would have written it.
        ClusterJobResult.AssertDriverHoldsTheResult(Path.Combine(_folder, recipe), recipe, workers: 2);
    }
}
