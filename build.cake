// Build, test and run the recipes:  dotnet tool restore && dotnet cake --target=<Target>
//
//   dotnet cake                         # = Test: restore, build, run the test suite
//   dotnet cake --target=mnist          # train LeNet-5 (offline: generated digits) and write artifacts/mnist
//   dotnet cake --target=mnist --epochs=3 --workers=2 --data=/path/to/mnist --dataset=fashion
//   dotnet cake --target=ncf-recommendation                 # explicit then implicit NCF (offline: generated ratings)
//   dotnet cake --target=ncf-recommendation --mode=implicit --data=/path/to/ml-1m.zip
//
// Recipe targets forward --epochs, --batch-size, --max-samples, --data, --workers (-> --master local[N]),
// --seed, --learning-rate, --output, --resume and the recipe's own options (--dataset, --mode, --top-k) to its
// command line.

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

Task("ncf-recommendation")
    .Description("NeuralCF on MovieLens-1M / generated ratings: explicit stars (MAE), then implicit NeuMF (HR@10, NDCG@10)")
    .IsDependentOn("Build")
    .Does(() =>
    {
        // Both tasks in turn, each into artifacts/ncf-recommendation/<mode>, unless --mode picks one.
        var modes = HasArgument("mode") ? new[] { Argument<string>("mode") } : new[] { "explicit", "implicit" };
        foreach (var mode in modes) RunRecipe("ncf-recommendation", new[] { "--mode", mode }, "dataset", "top-k");
    });

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);

// Runs a built recipe with the common options given to Cake, plus the recipe's own named options.
void RunRecipe(string recipe, params string[] recipeOptions) => RunRecipe(recipe, new string[0], recipeOptions);

// The same, with arguments the target itself fixes (such as one of several modes) placed first.
void RunRecipe(string recipe, string[] fixedArguments, params string[] recipeOptions)
{
    var arguments = new ProcessArgumentBuilder();
    foreach (var argument in fixedArguments) arguments.Append(argument);
    foreach (var name in new[] { "epochs", "batch-size", "max-samples", "data", "seed", "learning-rate", "output", "cache" }.Concat(recipeOptions))
    {
        if (HasArgument(name)) arguments.Append($"--{name}").AppendQuoted(Argument<string>(name));
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
