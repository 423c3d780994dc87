// Build, test and run the recipes:  dotnet tool restore && dotnet cake --target=<Target>
//
//   dotnet cake                         # = Test: restore, build, run the test suite
//   dotnet cake --target=mnist          # train LeNet-5 (offline: generated digits) and write artifacts/mnist
//   dotnet cake --target=mnist --epochs=3 --workers=2 --data=/path/to/mnist --dataset=fashion
//   dotnet cake --target=image-augmentation --image=../shared/data/augmentation/test.jpg   # or --folder=DIR
//   dotnet cake --target=transfer-learning --data=../shared/data/cats-dogs --backbone=onnx   # or --freeze-up-to=layer3
//   dotnet cake --target=image-similarity --data=../shared/data/cats-dogs --query=PATH
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

Task("image-augmentation")
    .Description("Every image augmentation op on a contact sheet (offline: a generated scene)")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("image-augmentation", "image", "folder", "repeats"));

Task("transfer-learning")
    .Description("Cats vs dogs from an ImageNet ResNet-18: cut, freeze, new head (offline: generated textures)")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("transfer-learning", "backbone", "freeze-up-to"));

Task("image-similarity")
    .Description("Index images by ImageNet features, query top-K, precision@K (offline: generated textures)")
    .IsDependentOn("Build")
    .Does(() => RunRecipe("image-similarity", "query", "top", "backbone", "fine-tune"));

Task("Default")
    .IsDependentOn("Test");

RunTarget(target);

// Runs a built recipe with the common options given to Cake, plus the recipe's own named options.
void RunRecipe(string recipe, params string[] recipeOptions)
{
    var arguments = new ProcessArgumentBuilder();
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
