// `dotnet cake --target=serve --recipe=<recipe>`: serves the model the recipe last trained. Every other option
// goes to `<recipe> serve` unchanged (--listen, --copies, --max-batch, --backend, --api-key-file, --model, ...).

/// <summary>What each serving recipe saves for `serve`, relative to its output folder (artifacts/&lt;recipe&gt;
/// unless --output says otherwise). ncf-recommendation writes one model per --mode; the explicit one is served
/// when both are there (--model picks the other).</summary>
static readonly Dictionary<string, string[]> ServedFiles = new()
{
    ["mnist"] = ["model.bin"],
    ["transfer-learning"] = ["model.bin"],
    ["xray"] = ["model.bin"],
    ["object-detection"] = ["model.bin"],
    ["image-similarity"] = ["index.bin"],
    ["ncf-recommendation"] = ["explicit/model.bin", "implicit/model.bin"],
};

void RunServe(string recipe, string configuration)
{
    if (string.IsNullOrEmpty(recipe) || !ServedFiles.TryGetValue(recipe, out var files))
        throw new CakeException($"give --recipe=<recipe> with a recipe that serves: {string.Join(", ", ServedFiles.Keys)}");
    // Every option given but --recipe (and its value): GivenRecipeOptions gives `--name value` pairs and bare flags.
    var options = new List<string>();
    var given = GivenRecipeOptions();
    for (int i = 0; i < given.Count; i++)
    {
        if (given[i] == "--recipe") { if (i + 1 < given.Count && !given[i + 1].StartsWith("--")) i++; continue; }
        options.Add(given[i]);
    }
    if (HasArgument("workers")) throw new CakeException("--workers is for training: serve takes --copies=N");
    if (!HasArgument("model"))
    {
        string output = HasArgument("output") ? Argument<string>("output") : $"artifacts/{recipe}";
        string model = files.Select(file => $"{output}/{file}").FirstOrDefault(path => IOFile.Exists(MakeAbsolute(File(path)).FullPath))
            ?? throw new CakeException($"{recipe}: no trained model in {output} ({string.Join(" or ", files)}); train first: dotnet cake --target={recipe}");
        options.AddRange(["--model", model]);
    }
    var assembly = RecipeAssembly(recipe, configuration);
    var arguments = new List<string> { "serve" };
    arguments.AddRange(options);
    Information("dotnet {0} {1}  (Ctrl+C stops it)", assembly, ShowArguments(arguments));
    int exitCode = RunDotNet(assembly, arguments) ?? -1;
    if (exitCode != 0) throw new CakeException(exitCode, $"{recipe} serve failed with exit code {exitCode}");
}
