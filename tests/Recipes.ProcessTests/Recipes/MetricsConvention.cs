using System.Text.Json;
using Recipes.Runtime.Recipes;

namespace Recipes.Tests.Recipes;

/// <summary>Checks a metrics.json written by a recipe run against the naming convention (<see cref="MetricNames"/>).</summary>
static class MetricsConvention
{
    /// <summary>Fails naming every key of <c>metrics</c> that breaks the convention.</summary>
    public static void AssertFollowed(JsonElement metricsJsonRoot)
    {
        var problems = metricsJsonRoot.GetProperty("metrics").EnumerateObject()
            .Select(metric => MetricNames.Problem(metric.Name)).OfType<string>().ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
