// Build, test and run the recipes:  dotnet tool restore && dotnet cake --target=<Target>
//
//   dotnet cake                         # = Test: restore, build, run the test suite
//   dotnet cake --target=mnist          # train LeNet-5 (offline: generated digits) and write artifacts/mnist
//   dotnet cake --target=mnist --epochs=3 --workers=2 --data=/path/to/mnist --dataset=fashion
//   dotnet cake --target=anomaly-detection --data=../shared/data/nyc-taxi/nyc_taxi.csv   # NYC taxi anomalies, NAB-scored
//   dotnet cake --target=mnist-cluster --epochs=3 --workers=2   # a driver + 2 worker processes on 127.0.0.1
//   dotnet cake --target=image-augmentation --image=../shared/data/augmentation/test.jpg   # or --folder=DIR
//   dotnet cake --target=transfer-learning --data=../shared/data/cats-dogs --backbone=onnx   # or --freeze-up-to=layer3
//   dotnet cake --target=image-similarity --data=../shared/data/cats-dogs --query=PATH
//   dotnet cake --target=ncf-recommendation                 # explicit then implicit NCF (offline: generated ratings)
//   dotnet cake --target=ncf-recommendation --mode=implicit --data=/path/to/ml-1m.zip
//   dotnet cake --target=xray                               # chest X-rays: 14 findings (offline: generated phantoms)
//   dotnet cake --target=xray --data=../shared/data/chestxray14-starter   # or --download --parts=2 (NIH archives)
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

Task("anomaly-detection")
    .Description("The seed's LSTM, then a weekly walk-forward detector with anomaly likelihood, on NAB's NYC taxi series (offline: generated), scored with NAB")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("anomaly-detection", "windows", "anomaly-fraction", "whole-series", "horizon", "tail-probability", "quiet-hours"));
Task("mnist-cluster")
    .Description("mnist in cluster mode: a driver and --workers (default 2) worker processes on 127.0.0.1")
    .IsDependentOn("Build")
    .Does(() => RunCluster("mnist", Argument("workers", 2), "dataset"));
Task("image-augmentation")
    .Description("Every image augmentation op on a contact sheet (offline: a generated scene)")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("image-augmentation", "image", "folder", "repeats"));
Task("ncf-recommendation")
    .Description("NeuralCF on MovieLens-1M / generated ratings: explicit stars (MAE), then implicit NeuMF (HR@10, NDCG@10)")
    .IsDependentOn("Build")
    .Does(() =>
    {
        // Both tasks in turn, each into artifacts/ncf-recommendation/<mode>, unless --mode picks one.
        var modes = HasArgument("mode") ? new[] { Argument<string>("mode") } : new[] { "explicit", "implicit" };
        foreach (var mode in modes) RunRecipe("ncf-recommendation", new[] { "--mode", mode }, "dataset", "top-k");
    });

Task("transfer-learning")
    .Description("Cats vs dogs from an ImageNet ResNet-18: cut, freeze, new head (offline: generated textures)")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("transfer-learning", "backbone", "freeze-up-to"));

Task("image-similarity")
    .Description("Index images by ImageNet features, query top-K, precision@K (offline: generated textures)")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("image-similarity", "query", "top", "backbone", "fine-tune"));

Task("xray")
    .Description("CheXNet-style chest X-ray diagnosis: 14 findings, patient split, AUC, heatmaps (offline: generated phantom radiographs)")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("xray", "architecture", "weights", "freeze-up-to", "class-weights", "l2", "warmup-epochs", "skip-missing",
        "download", "parts", "phantoms"));

Task("object-detection")
    .Description("SSD object detection scored with the VOC mAP, annotated images and a GIF (offline: generated scenes)")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("object-detection", "backbone", "freeze-up-to", "image-size", "scenes", "download", "voc-year", "skip-bad",
        "metric", "threshold", "warmup-epochs", "max-zoom-out"));

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);

// Runs a built recipe with the common options given to Cake, plus the recipe's own named options.
void RunRecipe(string recipe, params string[] recipeOptions) => RunRecipe(recipe, new string[0], recipeOptions);

// The same, with arguments the target itself fixes (such as one of several modes) placed first.
void RunRecipe(string recipe, string[] fixedArguments, params string[] recipeOptions)
{
    var arguments = RecipeArguments(recipeOptions, fixedArguments);
    if (HasArgument("workers")) arguments.Append("--master").AppendQuoted($"local[{Argument<int>("workers")}]");
    if (HasArgument("master")) arguments.Append("--master").AppendQuoted(Argument<string>("master"));
    var assembly = RecipeAssembly(recipe);
    Information($"dotnet {assembly} {arguments.Render()}");
    var exitCode = StartProcess("dotnet", new ProcessSettings { Arguments = $"\"{assembly}\" {arguments.Render()}" });
    if (exitCode != 0) throw new CakeException(exitCode, $"{recipe} failed with exit code {exitCode}");
}

// A cluster job on this machine: the driver (--master cluster[N]) and N worker processes joining it on
// 127.0.0.1, sharing a secret made up for this run and passed in the environment, never on a command line.
void RunCluster(string recipe, int workers, params string[] recipeOptions)
{
    var assembly = RecipeAssembly(recipe);
    var address = $"127.0.0.1:{Argument("cluster-port", 2551)}";
    var environment = new Dictionary<string, string> { ["RECIPES_CLUSTER_SECRET"] = Guid.NewGuid().ToString("N") };
    var arguments = RecipeArguments(recipeOptions).Append("--master").AppendQuoted($"cluster[{workers}]").Append("--cluster-listen").Append(address);
    Information($"driver: dotnet {assembly} {arguments.Render()}");
    using var driver = StartAndReturnProcess("dotnet", new ProcessSettings { Arguments = $"\"{assembly}\" {arguments.Render()}", EnvironmentVariables = environment });
    var started = new List<IProcess>();
    try
    {
        for (int i = 0; i < workers; i++)
        {
            Information($"worker {i}: dotnet {assembly} worker --join {address}");
            started.Add(StartAndReturnProcess("dotnet", new ProcessSettings { Arguments = $"\"{assembly}\" worker --join {address}", EnvironmentVariables = environment }));
        }
        driver.WaitForExit();
        foreach (var worker in started) worker.WaitForExit(30000);
        if (driver.GetExitCode() != 0) throw new CakeException(driver.GetExitCode(), $"{recipe} cluster job failed with exit code {driver.GetExitCode()}");
    }
    finally
    {
        foreach (var worker in started)
        {
            if (!worker.WaitForExit(0)) worker.Kill();
            worker.Dispose();
        }
    }
}

ProcessArgumentBuilder RecipeArguments(string[] recipeOptions, string[] fixedArguments = null)
{
    var arguments = new ProcessArgumentBuilder();
    foreach (var argument in fixedArguments ?? new string[0]) arguments.Append(argument);
    foreach (var name in new[] { "epochs", "batch-size", "max-samples", "data", "seed", "learning-rate", "output", "cache" }.Concat(recipeOptions))
    {
        if (!HasArgument(name)) continue;
        // An option given without a value (--whole-series) is passed on as a flag.
        var value = Argument<string>(name, null);
        if (string.IsNullOrEmpty(value)) arguments.Append($"--{name}"); else arguments.Append($"--{name}").AppendQuoted(value);
    }
    foreach (var flag in new[] { "resume", "offline", "verbose" })
    {
        if (HasArgument(flag)) arguments.Append($"--{flag}");
    }
    return arguments;
}

string RecipeAssembly(string recipe) => $"./recipes/{recipe}/bin/{configuration}/net10.0/linux-x64/{recipe}.dll";
