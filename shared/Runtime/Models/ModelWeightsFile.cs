using Recipes.Runtime.Data;
using Recipes.Runtime.IO;

namespace Recipes.Runtime.Models;

/// <summary>
/// A model's weights in TorchSharp's format, saved atomically and loaded back into a model of the same shape: the
/// weights half of <see cref="SavedModel"/>, and on their own the intermediate weights of a run (the best epoch's).
/// </summary>
public static class ModelWeightsFile
{
    public static void Save(string path, nn.Module model) => AtomicFile.WriteAllBytes(path, ToBytes(model));

    /// <summary>The bytes <see cref="Save"/> writes, made in memory.</summary>
    public static byte[] ToBytes(nn.Module model)
    {
        using var buffer = new MemoryStream();
        model.save(buffer); // closes the stream; ToArray still works on a closed MemoryStream
        return buffer.ToArray();
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
