using System.Text.Json;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Recipes;

namespace Recipes.Runtime.Models;

/// <summary>What, besides the weights, is needed to use a saved image classifier again.</summary>
public sealed record SavedClassifierInfo(string Architecture, string Dataset, int ClassCount, double Mean, double Std);

/// <summary>
/// Saves a classifier as two files written atomically: <c>model.bin</c> (TorchSharp's weight format) and
/// <c>model.json</c> beside it (architecture, classes, input normalisation).
/// </summary>
public static class SavedClassifier
{
    public static void Save(string modelPath, nn.Module model, SavedClassifierInfo info)
    {
        using var buffer = new MemoryStream();
        model.save(buffer); // closes the stream; ToArray still works on a closed MemoryStream
        AtomicFile.WriteAllBytes(modelPath, buffer.ToArray());
        AtomicFile.WriteAllText(InfoPath(modelPath), JsonSerializer.Serialize(info, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    public static T Load<T>(string modelPath, Func<SavedClassifierInfo, T> create, out SavedClassifierInfo info) where T : nn.Module
    {
        if (!File.Exists(modelPath)) throw new RecipeException($"{modelPath}: no saved model (train first, or pass --model)");
        string infoPath = InfoPath(modelPath);
        if (!File.Exists(infoPath)) throw new DataFileException(infoPath, "missing: it describes the model saved beside it");
        try
        {
            info = JsonSerializer.Deserialize<SavedClassifierInfo>(File.ReadAllText(infoPath))
                   ?? throw new DataFileException(infoPath, "empty model description");
        }
        catch (JsonException error)
        {
            throw new DataFileException(infoPath, $"not a model description ({error.Message})", error);
        }
        var model = create(info);
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
