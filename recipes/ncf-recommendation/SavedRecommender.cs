using System.Text.Json;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.NcfRecommendation;

/// <summary>
/// What, besides the weights, is needed to use a saved <see cref="NeuralCF"/> again: its shape, the rating
/// scale of an explicit model (null for implicit feedback), and the original user and item ids of each
/// embedding row.
/// </summary>
public sealed record RecommenderInfo(string Dataset, string Task, NeuralCFSettings Model, RatingScale? Scale, int[] UserIds, int[] ItemIds);

/// <summary>Saves a <see cref="NeuralCF"/> as <c>model.bin</c> (TorchSharp weights) and <c>model.json</c> beside it
/// (<see cref="RecommenderInfo"/>), both written atomically.</summary>
public static class SavedRecommender
{
    /// <param name="model">The trained model (a trainer's <c>Model</c> as it is): a <see cref="NeuralCF"/> of the shape
    /// <c>info.Model</c> describes, which <see cref="Load"/> builds again to load the weights into.</param>
    public static void Save(string modelPath, nn.Module<Tensor, Tensor> model, RecommenderInfo info)
    {
        // Compared as text, which names every field: HiddenLayers is a list, so record equality would compare references.
        if (model is NeuralCF neuralCF && neuralCF.Settings.ToString() != info.Model.ToString())
            throw new ArgumentException($"the model is {neuralCF.Settings}, the description says {info.Model}");
        if (info.UserIds.Length != info.Model.UserCount || info.ItemIds.Length != info.Model.ItemCount)
            throw new ArgumentException($"{info.UserIds.Length} user ids and {info.ItemIds.Length} item ids for a model of {info.Model.UserCount} users and {info.Model.ItemCount} items");
        using var buffer = new MemoryStream();
        model.save(buffer); // closes the stream; ToArray still works on a closed MemoryStream
        AtomicFile.WriteAllBytes(modelPath, buffer.ToArray());
        AtomicFile.WriteAllText(InfoPath(modelPath), JsonSerializer.Serialize(info) + "\n");
    }

    public static NeuralCF Load(string modelPath, out RecommenderInfo info)
    {
        if (!File.Exists(modelPath)) throw new RecipeException($"{modelPath}: no saved model (train first)");
        string infoPath = InfoPath(modelPath);
        if (!File.Exists(infoPath)) throw new DataFileException(infoPath, "missing: it describes the model saved beside it");
        try
        {
            info = JsonSerializer.Deserialize<RecommenderInfo>(File.ReadAllText(infoPath)) ?? throw new DataFileException(infoPath, "empty model description");
            info.Model.Validate();
        }
        catch (Exception error) when (error is JsonException or ArgumentException)
        {
            throw new DataFileException(infoPath, $"not a recommender description ({error.Message})", error);
        }
        var model = new NeuralCF(info.Model);
        try
        {
            using var stream = File.OpenRead(modelPath);
            model.load(stream);
        }
        catch (Exception error) when (error is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            model.Dispose();
            throw new DataFileException(modelPath, $"cannot load the weights ({error.Message})", error);
        }
        return model;
    }

    static string InfoPath(string modelPath) => Path.ChangeExtension(modelPath, ".json");
}
