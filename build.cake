// Build, test and run the recipes:  dotnet tool restore && dotnet cake --target=<Target>
//
//   dotnet cake                         # = Test: restore, build, run the test suite
//   dotnet cake --target=mnist          # train LeNet-5 (offline: generated digits) and write artifacts/mnist
//   dotnet cake --target=mnist --epochs=3 --workers=2 --optimizer=Sgd --dataset=fashion
//   dotnet cake --target=mnist-cluster --epochs=3 --workers=2   # a driver + 2 worker processes on 127.0.0.1
//   dotnet cake --target=ncf-recommendation                     # explicit then implicit NCF, unless --mode=... picks one
//   dotnet cake --target=xray --data=../shared/data/chestxray14-starter
//   dotnet cake --target=serve --recipe=xray              # serve the model xray last trained (artifacts/xray/model.bin)
//   dotnet cake --target=serve --recipe=image-similarity --listen=0.0.0.0:8080 --copies=2 --api-key-file=key.txt
//   dotnet cake --target=pack           # the runtime as NuGet packages in artifacts/packages (README: Make it yours)
//   dotnet cake --target=all            # every recipe's offline default, quick, into artifacts/all/<recipe>;
//                                       # the report: artifacts/report/index.html and report.md
//
// A recipe target passes every option it is given to the recipe unchanged (--name=value, --name value or a bare
// --flag), so the recipe's own command line is the one list of its options:
//   dotnet run --project recipes/<recipe> -c Release -- --help
// An option the recipe does not know stops it with the recipe's own error. The build script keeps only --target,
// --configuration and --workers=N (= --master local[N]; for mnist-cluster, the number of worker processes); Cake
// keeps its own (--verbosity, --dryrun, ...).

#load "build/recipe-runs.cake"
#load "build/report.cake"
#load "build/serve.cake"
#load "build/packaging.cake"

var target = Argument("target", "Default");
var configuration = Argument("configuration", "Release");
var solution = "./Recipes.sln";

// Each recipe target, and the options of its quick smoke run in --target=all: offline, about a minute or less on
// two cores, enough to go through every step (data, training, evaluation, charts, save and reload).
var recipes = new RecipeTarget[]
{
    new("mnist", "LeNet-5 on MNIST / Fashion-MNIST / generated digits",
        ["--epochs", "1", "--max-samples", "20000"]),
    new("image-augmentation", "Every image augmentation op on a contact sheet (offline: a generated scene)",
        []),
    new("transfer-learning", "Cats vs dogs from an ImageNet ResNet-18: cut, freeze, new head (offline: generated textures)",
        ["--epochs", "1", "--batch-size", "8", "--max-samples", "32"]),
    new("image-similarity", "Index images by ImageNet features, query top-K, precision@K (offline: generated textures)",
        ["--max-samples", "30", "--top", "3"]),
    new("ncf-recommendation", "NeuralCF on MovieLens-1M / generated ratings: explicit stars (MAE), then implicit NeuMF (HR@10, NDCG@10)",
        ["--dataset", "ml-100k", "--epochs", "2", "--max-samples", "20000"]) { Modes = ["explicit", "implicit"] },
    new("anomaly-detection", "The seed's LSTM, then a weekly walk-forward detector with anomaly likelihood, on NAB's NYC taxi series (offline: generated), scored with NAB",
        ["--epochs", "1"]),
    new("xray", "CheXNet-style chest X-ray diagnosis: 14 findings, patient split, AUC, heatmaps (offline: generated phantom radiographs)",
        ["--epochs", "1", "--batch-size", "16", "--phantoms", "160"]),
    new("object-detection", "SSD object detection scored with the VOC mAP, annotated images and a GIF (offline: generated scenes)",
        ["--epochs", "1", "--batch-size", "8", "--scenes", "60"]),
};

Task("Restore")
    .Does(() => DotNetRestore(solution));

Task("Build")
    .IsDependentOn("Restore")
    .Does(() => DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration, NoRestore = true }));

Task("Test")
    .IsDependentOn("Build")
    .Does(() => DotNetTest(solution, new DotNetTestSettings { Configuration = configuration, NoBuild = true, NoRestore = true }));

foreach (var recipe in recipes)
{
    Task(recipe.Name)
        .Description(recipe.Description)
        .IsDependentOn("Build")
        .Does(() => RunRecipeTarget(recipe, configuration));
}

Task("mnist-cluster")
    .Description("mnist in cluster mode: a driver and --workers (default 2) worker processes on 127.0.0.1")
    .IsDependentOn("Build")
    .Does(() => RunCluster("mnist", configuration, Argument("workers", 2)));

Task("serve")
    .Description("Serve the model a recipe last trained over HTTP: --recipe=<recipe>; other options go to `<recipe> serve` (--listen, --copies, --backend, ...)")
    .IsDependentOn("Build")
    .Does(() => RunServe(Argument<string>("recipe", null), configuration));

Task("all")
    .Description("Every recipe's offline default in quick mode into artifacts/all/<recipe>, then artifacts/report/index.html and report.md")
    .IsDependentOn("Build")
    .Does(() =>
    {
        // A recipe that hangs must not hold up CI: it is stopped, reported as failed, and the others still run.
        var limit = TimeSpan.FromMinutes(10);
        var runs = recipes.SelectMany(recipe => RunQuick(recipe, configuration, "artifacts/all", limit)).ToList();
        var reported = QuickRunReport.Write(MakeAbsolute(Directory("artifacts/report")).FullPath, runs, DateTime.UtcNow);
        foreach (var run in reported)
            Information("{0,-32} {1,-7} {2,12}  {3}", run.Run.Title, run.Passed ? "passed" : "FAILED", QuickRunReport.Duration(run.Run.Elapsed),
                string.Join(", ", run.Headline().Select(metric => $"{metric.Key} {QuickRunReport.Figure(metric.Value)}")));
        Information("report: {0} (and report.md)", MakeAbsolute(File("artifacts/report/index.html")));
        var failed = reported.Where(run => !run.Passed).ToList();
        if (failed.Count > 0)
            throw new CakeException($"{failed.Count} of {reported.Count} recipe runs failed: " +
                string.Join("; ", failed.Select(run => $"{run.Run.Title} ({run.Failure})")) + "; see artifacts/report/index.html");
    });

Task("pack")
    .Description("The runtime's NuGet packages (every project under shared/) into artifacts/packages/, for a recipe copied out of the repository (--package-version=, --feed=)")
    .Does(() => PackRuntime(configuration));

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);
