using System.Text.Json;
using System.Text.Json.Serialization;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Models;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.TransferLearning;

/// <summary>
/// What serving needs to rebuild and use a saved transfer-learning classifier besides <c>model.bin</c> and
/// <c>model.json</c>: the class names (in the order of the head's outputs) and the layer the backbone was frozen up
/// to, which decides how the saved weights are split between the frozen and the trained parts.
/// </summary>
public sealed record TransferModelDescription(
    [property: JsonPropertyName("classes")] IReadOnlyList<string> Classes,
    [property: JsonPropertyName("freeze_up_to")] string FreezeUpTo,
    [property: JsonPropertyName("resize_short_side")] int ResizeShortSide,
    [property: JsonPropertyName("crop")] int Crop)
{
    /// <summary><c>model.transfer.json</c> beside <c>model.bin</c>.</summary>
    public static string PathFor(string modelPath) => Path.ChangeExtension(modelPath, ".transfer.json");

    public void Save(string modelPath) =>
        AtomicFile.WriteAllText(PathFor(modelPath), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }) + "\n");

    /// <summary>
    /// The description beside <paramref name="modelPath"/>; for a model saved before it was written, the same facts
    /// from the run's <c>metrics.json</c> in that folder (<c>classes</c>, <c>freeze_up_to</c>), with the recipe's sizes.
    /// </summary>
    public static TransferModelDescription Load(string modelPath)
    {
        string path = PathFor(modelPath);
        if (File.Exists(path))
        {
            try
            {
                var description = JsonSerializer.Deserialize<TransferModelDescription>(File.ReadAllText(path))
                                  ?? throw new DataFileException(path, "empty model description");
                return description.Classes is { Count: >= 2 } && !string.IsNullOrEmpty(description.FreezeUpTo) && description.Crop > 0 && description.ResizeShortSide >= description.Crop
                    ? description
                    : throw new DataFileException(path, "needs classes (2 or more), freeze_up_to, resize_short_side and crop");
            }
            catch (JsonException error)
            {
                throw new DataFileException(path, $"not a model description ({error.Message})", error);
            }
        }
        string metrics = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "metrics.json");
        if (!File.Exists(metrics))
            throw new DataFileException(path, "missing: it names the model's classes and freeze point (train again to write it)");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(metrics));
            var root = document.RootElement;
            var classes = root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToList();
            return new TransferModelDescription(classes, root.GetProperty("freeze_up_to").GetString()!, TransferLearningServing.ResizeShortSide, TransferLearningServing.Crop);
        }
        catch (Exception error) when (error is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new DataFileException(metrics, $"{path} is missing and this run report does not name the classes and freeze point ({error.Message})", error);
        }
    }
}

/// <summary>
/// <c>transfer-learning serve</c>: the saved classifier behind the HTTP service. <c>/predict</c> gives the uploaded
/// picture the evaluation's preprocessing (short side to 256, centre 224x224 crop, RGB 0..255; the ImageNet model's
/// own BGR-minus-mean-image step is part of the served model) and answers the class probabilities. The model runs on
/// ONNX Runtime by default, from an export written once beside the weights (<c>model.onnx</c>); <c>--backend torch</c>
/// runs the TorchSharp network as the recipe's own prediction step does. Both take the same input and give the same
/// outputs (<c>logits</c>, <c>probabilities</c>), so clients cannot tell them apart but by speed.
/// </summary>
public static class TransferLearningServing
{
    public const string ModelName = "transfer-learning";
    public const int ResizeShortSide = 256;
    public const int Crop = ImageNetResNet18.ImageSize;

    public static ServedModel Load(ServeOptions options) => Load(options, Console.Out);

    public static ServedModel Load(ServeOptions options, TextWriter log)
    {
        string modelPath = options.ModelPath;
        if (!File.Exists(modelPath)) throw new DataFileException(modelPath, "no saved model here (train one first, or pass --model)");
        var description = TransferModelDescription.Load(modelPath);
        string version = ServedModelLoading.VersionOf(modelPath);
        var backend = options.Backend ?? ServingBackend.Onnx;
        var transform = new ImageChain([new ScaleShortSide(description.ResizeShortSide), new CenterCrop(description.Crop, description.Crop)]);

        IInferenceModel model;
        // The pretrained backbone the classifier is rebuilt on is imported once and shared by every copy's rebuild.
        using (var transfer = new ImageNetTransfer(BackboneTraining.FineTuneTorchSharp, description.Classes.Count, description.FreezeUpTo))
        {
            if (backend == ServingBackend.Onnx)
            {
                string onnxPath = ServedModelLoading.EnsureOnnxExport(modelPath, path =>
                {
                    using var classifier = LoadClassifier(modelPath, transfer, description);
                    using var preprocessing = ImageNetResNet18.LoadPreprocessing();
                    ImageNetTransferOnnx.Save(path, classifier, preprocessing, description.Classes.Count);
                }, log);
                model = ServedModelLoading.StartInference(options, threads => new OnnxRuntimeBackend(onnxPath, ModelName, version, threads));
            }
            else
            {
                var signature = Signature(version, description.Classes.Count, description.Crop);
                model = ServedModelLoading.StartInference(options, threads => TorchCopy(signature, LoadClassifier(modelPath, transfer, description), threads));
            }
        }
        log.WriteLine($"Model: ResNet-18 transfer classifier of {string.Join(", ", description.Classes)} (frozen up to {description.FreezeUpTo}), " +
                      $"{model.Signature.Platform}, version {version}");
        return new ImageClassifierServing(ModelName, model, description.Classes,
            image => ServedModelLoading.ChwRow(ServedModelLoading.Transform(image, transform)), "probabilities");
    }

    /// <summary>The saved classifier as the recipe reloads it (frozen layers, trained layers, head), in evaluation mode.</summary>
    static Sequential LoadClassifier(string modelPath, ImageNetTransfer transfer, TransferModelDescription description)
    {
        var classifier = SavedClassifier.Load(modelPath, info =>
        {
            if (info.ClassCount != description.Classes.Count)
                throw new DataFileException(modelPath, $"the model has {info.ClassCount} classes, its description names {description.Classes.Count}");
            return transfer.CreateClassifier(transfer.CreateTrainable());
        }, out _);
        classifier.eval();
        return classifier;
    }

    /// <summary>What the ONNX export takes and gives, declared the same for the TorchSharp copies.</summary>
    static ModelSignature Signature(string version, int classes, int crop) => new(ModelName, version, "torchsharp",
        [new TensorSpec("images", TensorDatatype.FP32, [-1, 3, crop, crop])],
        [new TensorSpec("logits", TensorDatatype.FP32, [-1, classes]), new TensorSpec("probabilities", TensorDatatype.FP32, [-1, classes])]);

    /// <summary>One TorchSharp copy: the ImageNet preprocessing (RGB to BGR, minus the mean image), the classifier, a softmax.</summary>
    static TorchSharpBackend TorchCopy(ModelSignature signature, Sequential classifier, int threads)
    {
        var preprocessing = ImageNetResNet18.LoadPreprocessing();
        return new TorchSharpBackend(signature, inputs =>
        {
            var logits = classifier.forward(preprocessing.Apply(inputs[0]));
            return [logits, nn.functional.softmax(logits, 1)];
        }, new CopyResources(classifier, preprocessing), threads);
    }

    /// <summary>What one TorchSharp copy owns, disposed with it.</summary>
    sealed class CopyResources(Sequential classifier, ResNetPreprocessing preprocessing) : IDisposable
    {
        public void Dispose()
        {
            classifier.Dispose();
            preprocessing.Dispose();
        }
    }
}
