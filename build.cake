// Build, test and run the recipes:  dotnet tool restore && dotnet cake --target=<Target>
//
//   dotnet cake                         # = Test: restore, build, run the test suite
//   dotnet cake --target=mnist          # train LeNet-5 (offline: generated digits) and write artifacts/mnist
//   dotnet cake --target=mnist --epochs=3 --workers=2 --data=/path/to/mnist --dataset=fashion
//   dotnet cake --target=anomaly-detection --whole-series   # LSTM anomalies in NYC taxi demand, scored with NAB
//
// Recipe targets forward --epochs, --batch-size, --max-samples, --data, --workers (-> --master local[N]),
// --seed, --learning-rate, --output, --dataset and --resume to the recipe's own command line.

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var solution = "./Recipes.sln";

Task("Restore")
    .Does(() => DotNetRestore(solution));

Task("Build")
    .IsDependentOn("Restore")
    .Does(() => DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration, NoRestore = true }));

Task("Test")
    .IsDependentOn("Build")
    .Does(() => DotNetTest(solution, new DotNetTestSettings { Configuration = configuration, NoBuild = true, NoRestore = true }));

Task("mnist")
    .Description("LeNet-5 on MNIST / Fashion-MNIST / generated digits")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("mnist", "dataset"));

Task("anomaly-detection")
    .Description("LSTM forecaster on NAB's NYC taxi series (offline: a generated series), anomalies scored against labelled windows")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("anomaly-detection", "windows", "anomaly-fraction", "whole-series"));

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);

// Runs a built recipe with the common options given to Cake, plus the recipe's own named options.
void RunRecipe(string recipe, params string[] recipeOptions)
{
    var arguments = new ProcessArgumentBuilder();
    foreach (var name in new[] { "epochs", "batch-size", "max-samples", "data", "seed", "learning-rate", "output", "cache" }.Concat(recipeOptions))
    {
        if (!HasArgument(name)) continue;
        // An option given without a value (--whole-series) is passed on as a flag.
        var value = Argument<string>(name, null);
        if (string.IsNullOrEmpty(value)) arguments.Append($"--{name}"); else arguments.Append($"--{name}").AppendQuoted(value);
    }
    if (HasArgument("workers")) arguments.Append("--master").AppendQuoted($"local[{Argument<int>("workers")}]");
    if (HasArgument("master")) arguments.Append("--master").AppendQuoted(Argument<string>("master"));
    foreach (var flag in new[] { "resume", "offline", "verbose" })
    {
        if (HasArgument(flag)) arguments.Append($"--{flag}");
    }
    var assembly = $"./recipes/{recipe}/bin/{configuration}/net10.0/linux-x64/{recipe}.dll";
    Information($"dotnet {assembly} {arguments.Render()}");
    var exitCode = StartProcess("dotnet", new ProcessSettings { Arguments = $"\"{assembly}\" {arguments.Render()}" });
    if (exitCode != 0) throw new CakeException(exitCode, $"{recipe} failed with exit code {exitCode}");
}
