using Recipes.Runtime.Data;
using Recipes.Runtime.IO;

namespace Recipes.Runtime.Models;

/// <summary>Saves a model's weights (TorchSharp's format) atomically, and loads them back into a model of the same shape.</summary>
public static class ModelWeightsFile
{
    public static void Save(string path, nn.Module model)
    {
        using var buffer = new MemoryStream();
        model.save(buffer); // closes the stream; ToArray still works on a closed MemoryStream
        AtomicFile.WriteAllBytes(path, buffer.ToArray());
    }

    /// <summary>Loads the weights at <paramref name="path"/> into <paramref name="model"/> and returns it.</summary>
    public static T LoadInto<T>(string path, T model) where T : nn.Module
    {
        if (!File.Exists(path)) throw new DataFileException(path, "no saved weights here");
        try
        {
            using var stream = File.OpenRead(path);
            model.load(stream);
            return model;
        }
        catch (Exception error) when (error is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            throw new DataFileException(path, $"cannot load the weights into {model.GetName()} ({error.Message})", error);
        }
    }
}
