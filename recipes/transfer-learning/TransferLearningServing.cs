using Recipes.Runtime.Models;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.TransferLearning;

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
        var description = SavedModel<TransferModelDescription>.ReadDescription(modelPath);
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
        // The description was read before the pretrained backbone was imported for it; a model.json rewritten since
        // with other classes is refused rather than loaded into a head of the wrong width.
        var classifier = SavedModel<TransferModelDescription>.Load(modelPath, saved => saved.Classes.Count == description.Classes.Count
            ? transfer.CreateClassifier(transfer.CreateTrainable())
            : throw new ArgumentException($"the model now has {saved.Classes.Count} classes, {description.Classes.Count} when serving started")).Model;
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
