using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Recipes;

namespace Recipes.Runtime.Models;

/// <summary>
/// The one format every recipe saves its trained model in: two files side by side, <c>model.bin</c> (the weights, in
/// TorchSharp's format; see <see cref="ModelWeightsFile"/>) and <c>model.json</c>:
/// <code>
/// { "format": "recipes-model", "format_version": 1, "recipe": "mnist", "architecture": "LeNet-5",
///   "description": { ...the recipe's own ISavedModelDescription record... } }
/// </code>
/// Both are written atomically. <see cref="SavedModel{TDescription}.Load"/> gives back the recipe's own module type
/// and description record, so no caller casts.
/// </summary>
public static class SavedModel
{
    /// <summary>What <c>format</c> says in every <c>model.json</c> of this format.</summary>
    public const string Format = "recipes-model";

    /// <summary>The newest <c>format_version</c> this code writes and reads; a later one is refused, not guessed at.</summary>
    public const int FormatVersion = 1;

    /// <summary>Snake-case names (as <c>metrics.json</c> has them) and NaN written as <c>"NaN"</c> (a metric that had no
    /// value, such as an AUC without positives), so that a description can always be written. Missing or null
    /// values a record does not allow are errors when read, not nulls found later inside the network. Text is
    /// written as people read it (<c>resnet18 + CheXNet head</c>, accented class names), not HTML-escaped: the
    /// file is never embedded in a page.</summary>
    internal static readonly JsonSerializerOptions Json = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary><c>model.json</c> beside <paramref name="weightsPath"/> (<c>model.bin</c>).</summary>
    public static string DescriptionPath(string weightsPath) => Path.ChangeExtension(weightsPath, ".json");

    /// <summary>
    /// Saves <paramref name="model"/>'s weights to <paramref name="weightsPath"/> and, beside it, <c>model.json</c>
    /// naming the recipe (<typeparamref name="TDescription"/>'s), the <paramref name="architecture"/> (a readable
    /// name for people and tools) and <paramref name="description"/>.
    /// </summary>
    public static void Save<TDescription>(string weightsPath, nn.Module model, string architecture, TDescription description)
        where TDescription : ISavedModelDescription
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(weightsPath);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        ArgumentNullException.ThrowIfNull(description);
        if (description.FindProblem() is { } problem)
            throw new ArgumentException($"the {TDescription.Recipe} model's description cannot be saved: {problem}", nameof(description));
        // Both files are made in memory before either is written: a description or weights that cannot be serialised
        // leave a previous model as it was instead of new weights beside an old description. The description goes
        // last, so a reader that finds it complete finds the weights it describes.
        var document = new JsonObject
        {
            ["format"] = Format,
            ["format_version"] = FormatVersion,
            ["recipe"] = TDescription.Recipe,
            ["architecture"] = architecture,
            ["description"] = JsonSerializer.SerializeToNode(description, Json),
        };
        string json = document.ToJsonString(Json) + "\n";
        byte[] weights = ModelWeightsFile.ToBytes(model);
        AtomicFile.WriteAllBytes(weightsPath, weights);
        AtomicFile.WriteAllText(DescriptionPath(weightsPath), json);
    }
}

/// <summary>Reads models of <see cref="SavedModel"/>'s format saved by the recipe of <typeparamref name="TDescription"/>.</summary>
public static class SavedModel<TDescription> where TDescription : ISavedModelDescription
{
    /// <summary>
    /// Loads the model at <paramref name="weightsPath"/>: reads and checks <c>model.json</c>, builds the network with
    /// <paramref name="create"/> from the description (an <see cref="ArgumentException"/> there means the description
    /// asks for a network that cannot be built, reported against <c>model.json</c>) and loads the weights into it.
    /// The network is left in the mode <paramref name="create"/> leaves it in.
    /// </summary>
    /// <exception cref="RecipeException">no <c>model.bin</c> or no <c>model.json</c>: nothing was saved here.</exception>
    /// <exception cref="DataFileException">a file that cannot be used, named with the reason.</exception>
    public static LoadedModel<TModule, TDescription> Load<TModule>(string weightsPath, Func<TDescription, TModule> create) where TModule : nn.Module
    {
        ArgumentNullException.ThrowIfNull(create);
        var (architecture, description) = Read(weightsPath);
        TModule model;
        try
        {
            model = create(description);
        }
        catch (ArgumentException error)
        {
            throw new DataFileException(SavedModel.DescriptionPath(weightsPath), $"describes a network that cannot be built ({error.Message})", error);
        }
        try
        {
            ModelWeightsFile.LoadInto(weightsPath, model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new LoadedModel<TModule, TDescription>(model, description, architecture);
    }

    /// <summary>The description of the model at <paramref name="weightsPath"/>, checked as <see cref="Load"/> checks it,
    /// without loading the weights: for what must be known before the network can be built.</summary>
    public static TDescription ReadDescription(string weightsPath) => Read(weightsPath).Description;

    static (string Architecture, TDescription Description) Read(string weightsPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(weightsPath);
        string path = SavedModel.DescriptionPath(weightsPath);
        if (!File.Exists(weightsPath)) throw new RecipeException($"{weightsPath}: no saved model (train first, or pass --model)");
        if (!File.Exists(path))
            throw new RecipeException($"{path}: no saved model (the description of {Path.GetFileName(weightsPath)} is missing; train first, or pass --model)");

        using var document = ParseJson(path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new DataFileException(path, "not a saved model description (not a JSON object)");
        string? format = Text(root, "format");
        if (format is null)
            throw new DataFileException(path, $"not a saved model description: no \"format\" (written by another tool or an older version of the recipes; train again)");
        if (format != SavedModel.Format) throw new DataFileException(path, $"a model description of format '{format}', not '{SavedModel.Format}'");
        if (!root.TryGetProperty("format_version", out var versionElement) || versionElement.ValueKind != JsonValueKind.Number
            || !versionElement.TryGetInt32(out int version) || version < 1)
            throw new DataFileException(path, "format_version is missing or not a whole number from 1");
        if (version > SavedModel.FormatVersion)
            throw new DataFileException(path, $"format_version {version} is newer than this version of the recipes reads ({SavedModel.FormatVersion}): update them to load this model");
        string recipe = Text(root, "recipe") ?? throw new DataFileException(path, "no \"recipe\": which recipe saved this model?");
        if (recipe != TDescription.Recipe) throw new DataFileException(path, $"this model was saved by the {recipe} recipe, not by {TDescription.Recipe}");
        string architecture = Text(root, "architecture") ?? throw new DataFileException(path, "no \"architecture\"");
        if (!root.TryGetProperty("description", out var descriptionElement) || descriptionElement.ValueKind != JsonValueKind.Object)
            throw new DataFileException(path, "no \"description\" object: the recipe's record of the model");

        TDescription? description;
        try
        {
            description = descriptionElement.Deserialize<TDescription>(SavedModel.Json);
        }
        catch (Exception error) when (error is JsonException or NotSupportedException or ArgumentException)
        {
            throw new DataFileException(path, $"the {recipe} model's description does not read ({error.Message})", error);
        }
        if (description is null) throw new DataFileException(path, "an empty description");
        if (description.FindProblem() is { } problem) throw new DataFileException(path, $"the description does not describe a usable model: {problem}");
        return (architecture, description);
    }

    static JsonDocument ParseJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException error)
        {
            throw new DataFileException(path, $"not a saved model description: malformed JSON ({error.Message})", error);
        }
    }

    static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;
}
