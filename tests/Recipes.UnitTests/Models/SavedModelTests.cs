using System.Text.Json;
using System.Text.Json.Nodes;
using Recipes.Runtime.Data;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Tests.Models;

public sealed class SavedModelTests : IDisposable
{
    /// <summary>A recipe's description as the recipes write them: names, numbers, a list, an optional metric.</summary>
    public sealed record TinyDescription(string Dataset, IReadOnlyList<string> Classes, int Inputs, double? TestAccuracy) : ISavedModelDescription
    {
        public static string Recipe => "tiny";

        public string? FindProblem() => Classes.Count < 2 ? $"{Classes.Count} classes" : Inputs < 1 ? $"{Inputs} inputs" : null;
    }

    /// <summary>The same shape of record, saved by another recipe.</summary>
    public sealed record XrayLikeDescription(string Dataset, IReadOnlyList<string> Classes, int Inputs, double? TestAccuracy) : ISavedModelDescription
    {
        public static string Recipe => "xray";
    }

    readonly string _folder = Path.Combine(Path.GetTempPath(), $"recipes-saved-model-{Guid.NewGuid():N}");

    public SavedModelTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    string WeightsPath => Path.Combine(_folder, "model.bin");
    string DescriptionPath => Path.Combine(_folder, "model.json");

    static readonly TinyDescription Description = new("generated", ["cat", "dog", "fox"], 4, 0.75);

    static Sequential CreateNetwork(TinyDescription description) =>
        nn.Sequential(("hidden", nn.Linear(description.Inputs, 5)), ("relu", nn.ReLU()), ("head", nn.Linear(5, description.Classes.Count)));

    static float[] Parameters(nn.Module model) => model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();

    Sequential SaveTrainedLookingModel(TinyDescription? description = null)
    {
        torch.random.manual_seed(21);
        var network = CreateNetwork(description ?? Description);
        SavedModel.Save(WeightsPath, network, "MLP 4-5-3 + ReLU", description ?? Description);
        return network;
    }

    void EditDescriptionFile(Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(File.ReadAllText(DescriptionPath))!.AsObject();
        edit(root);
        File.WriteAllText(DescriptionPath, root.ToJsonString());
    }

    LoadedModel<Sequential, TinyDescription> Load() => SavedModel<TinyDescription>.Load(WeightsPath, CreateNetwork);

    [Fact]
    public void A_saved_model_loads_back_with_the_same_weights_as_its_own_type_with_its_description()
    {
        using var original = SaveTrainedLookingModel();

        // Fresh weights first, so equal weights after the load can only have come from the file.
        torch.random.manual_seed(99);
        using var loaded = Load();
        Sequential network = loaded.Model; // the recipe's own module type: no cast
        Assert.Equal(Parameters(original), Parameters(network)); // the same bytes copied back: exactly equal
        Assert.Equal(Description.Classes, loaded.Description.Classes);
        Assert.Equal(Description with { Classes = loaded.Description.Classes }, loaded.Description);
        Assert.Equal("MLP 4-5-3 + ReLU", loaded.Architecture);

        using var scope = NewDisposeScope();
        using var input = randn(2, 4);
        Assert.True(original.forward(input).allclose(network.forward(input), rtol: 0, atol: 0));
    }

    [Fact]
    public void What_create_sets_up_survives_the_load_of_the_weights()
    {
        using var original = SaveTrainedLookingModel();

        // The recipes freeze stages and switch to evaluation mode in create, before the weights are copied in.
        using var loaded = SavedModel<TinyDescription>.Load(WeightsPath, description =>
        {
            var network = CreateNetwork(description);
            foreach (var (name, parameter) in network.named_parameters())
                if (name.StartsWith("hidden.", StringComparison.Ordinal)) parameter.requires_grad = false;
            network.eval();
            return network;
        });

        Assert.All(loaded.Model.named_parameters(), named => Assert.Equal(!named.name.StartsWith("hidden.", StringComparison.Ordinal), named.parameter.requires_grad));
        Assert.False(loaded.Model.training);
        Assert.Equal(Parameters(original), Parameters(loaded.Model));
    }

    [Fact]
    public void The_description_file_names_its_format_version_recipe_and_architecture_in_snake_case()
    {
        using var _ = SaveTrainedLookingModel();

        using var document = JsonDocument.Parse(File.ReadAllText(DescriptionPath));
        var root = document.RootElement;
        Assert.Equal("recipes-model", root.GetProperty("format").GetString());
        Assert.Equal(1, root.GetProperty("format_version").GetInt32());
        Assert.Equal("tiny", root.GetProperty("recipe").GetString());
        Assert.Equal("MLP 4-5-3 + ReLU", root.GetProperty("architecture").GetString());
        Assert.Contains("\"architecture\": \"MLP 4-5-3 + ReLU\"", File.ReadAllText(DescriptionPath)); // readable, not escaped
        var description = root.GetProperty("description");
        Assert.Equal("generated", description.GetProperty("dataset").GetString());
        Assert.Equal(0.75, description.GetProperty("test_accuracy").GetDouble());
        Assert.Equal(3, description.GetProperty("classes").GetArrayLength());
    }

    [Fact]
    public void The_description_can_be_read_without_building_the_network()
    {
        using var _ = SaveTrainedLookingModel();

        Assert.Equal(["cat", "dog", "fox"], SavedModel<TinyDescription>.ReadDescription(WeightsPath).Classes);
    }

    [Fact]
    public void A_metric_without_a_value_is_saved_and_read_back_as_NaN()
    {
        using var _ = SaveTrainedLookingModel(Description with { TestAccuracy = double.NaN });

        Assert.True(double.IsNaN(SavedModel<TinyDescription>.ReadDescription(WeightsPath).TestAccuracy!.Value));
    }

    [Fact]
    public void Without_weights_or_without_a_description_there_is_no_saved_model()
    {
        var missingBoth = Assert.Throws<RecipeException>(Load);
        Assert.Equal($"{WeightsPath}: no saved model (train first, or pass --model)", missingBoth.Message);

        using (SaveTrainedLookingModel()) { }
        File.Delete(DescriptionPath);
        var missingDescription = Assert.Throws<RecipeException>(Load);
        Assert.StartsWith($"{DescriptionPath}: no saved model", missingDescription.Message);
    }

    [Fact]
    public void A_description_that_is_not_JSON_is_refused_naming_the_file()
    {
        using (SaveTrainedLookingModel()) { }
        File.WriteAllText(DescriptionPath, "{ \"format\": \"recipes-model\", ");

        var error = Assert.Throws<DataFileException>(Load);

        Assert.Equal(DescriptionPath, error.FilePath);
        Assert.Contains("malformed JSON", error.Message);
    }

    [Fact]
    public void A_description_of_another_format_or_of_the_format_before_this_one_is_refused()
    {
        using (SaveTrainedLookingModel()) { }
        EditDescriptionFile(root => root["format"] = "keras-model");
        var otherFormat = Assert.Throws<DataFileException>(Load);
        Assert.Equal(DescriptionPath, otherFormat.FilePath);
        Assert.Contains("format 'keras-model', not 'recipes-model'", otherFormat.Message);

        // What mnist wrote before the recipes shared one format: the record alone.
        File.WriteAllText(DescriptionPath, """{ "Architecture": "LeNet-5", "Dataset": "MNIST", "ClassCount": 10, "Mean": 0.13, "Std": 0.31 }""");
        var older = Assert.Throws<DataFileException>(Load);
        Assert.Contains("no \"format\"", older.Message);
    }

    [Fact]
    public void A_model_saved_by_another_recipe_is_refused_with_that_recipes_name()
    {
        torch.random.manual_seed(21);
        using (var network = CreateNetwork(Description))
            SavedModel.Save(WeightsPath, network, "MLP 4-5-3 + ReLU", new XrayLikeDescription("generated", ["cat", "dog", "fox"], 4, null));

        var error = Assert.Throws<DataFileException>(Load);

        Assert.Equal(DescriptionPath, error.FilePath);
        Assert.Contains("this model was saved by the xray recipe, not by tiny", error.Message);
    }

    [Fact]
    public void A_format_version_newer_than_this_code_is_refused_not_guessed_at()
    {
        using (SaveTrainedLookingModel()) { }
        EditDescriptionFile(root => root["format_version"] = SavedModel.FormatVersion + 1);

        var error = Assert.Throws<DataFileException>(Load);

        Assert.Contains($"format_version {SavedModel.FormatVersion + 1} is newer", error.Message);
    }

    [Fact]
    public void A_description_missing_a_field_or_describing_an_unusable_model_is_refused_naming_the_file()
    {
        using (SaveTrainedLookingModel()) { }
        EditDescriptionFile(root => root["description"]!.AsObject().Remove("inputs"));
        var missing = Assert.Throws<DataFileException>(Load);
        Assert.Equal(DescriptionPath, missing.FilePath);
        Assert.Contains("description does not read", missing.Message);

        using (SaveTrainedLookingModel()) { }
        EditDescriptionFile(root => root["description"]!["classes"] = new JsonArray("cat"));
        var unusable = Assert.Throws<DataFileException>(Load);
        Assert.Contains("does not describe a usable model: 1 classes", unusable.Message);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_network_are_refused_naming_the_weights_file()
    {
        using (SaveTrainedLookingModel()) { }

        // The description is fine; the network built for it is not the one saved (another hidden width).
        var error = Assert.Throws<DataFileException>(() => SavedModel<TinyDescription>.Load(WeightsPath, description =>
            nn.Sequential(("hidden", nn.Linear(description.Inputs, 7)), ("relu", nn.ReLU()), ("head", nn.Linear(7, description.Classes.Count)))));

        Assert.Equal(WeightsPath, error.FilePath);
        Assert.Contains("cannot load the weights", error.Message);
    }

    [Fact]
    public void A_network_the_description_cannot_build_is_reported_against_the_description()
    {
        using (SaveTrainedLookingModel()) { }

        var error = Assert.Throws<DataFileException>(() => SavedModel<TinyDescription>.Load<Sequential>(WeightsPath,
            description => throw new ArgumentException($"unknown architecture for {description.Dataset}")));

        Assert.Equal(DescriptionPath, error.FilePath);
        Assert.Contains("unknown architecture for generated", error.Message);
    }

    [Fact]
    public void A_save_that_fails_leaves_the_previous_model_as_it_was_and_no_temporary_file()
    {
        using (SaveTrainedLookingModel()) { }
        byte[] weights = File.ReadAllBytes(WeightsPath);
        string description = File.ReadAllText(DescriptionPath);
        torch.random.manual_seed(5);
        using var other = CreateNetwork(Description);

        // A description the recipe should never write...
        Assert.Throws<ArgumentException>(() => SavedModel.Save(WeightsPath, other, "MLP 4-5-3 + ReLU", Description with { Classes = ["cat"] }));
        // ...and one that cannot be written at all (a null where the record allows none) fail before either file is touched.
        Assert.Throws<JsonException>(() => SavedModel.Save(WeightsPath, other, "MLP 4-5-3 + ReLU", Description with { Dataset = null! }));

        Assert.Equal(weights, File.ReadAllBytes(WeightsPath));
        Assert.Equal(description, File.ReadAllText(DescriptionPath));
        Assert.Equal(["model.bin", "model.json"], Directory.GetFiles(_folder).Select(file => Path.GetFileName(file)).Order());
    }
}
