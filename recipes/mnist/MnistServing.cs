using Recipes.Runtime.Models;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Recipes.Mnist;

/// <summary>
/// What <c>mnist serve</c> needs beyond the shared service: the saved LeNet-5 as an <see cref="InferenceModel"/> whose
/// copies answer logits and class probabilities (input <c>images</c>, FP32 [-1, 1, 28, 28], normalised as at training;
/// outputs <c>logits</c> and <c>probabilities</c>, [-1, classes]) on ONNX Runtime (the default: an export kept beside
/// the weights) or TorchSharp (<c>--backend torch</c>), and the preprocessing that turns an uploaded picture into that input.
/// </summary>
public static class MnistServing
{
    public const string ModelName = "mnist";

    public static ServedModel Load(ServeOptions options) => Load(options, Console.Out);

    public static ServedModel Load(ServeOptions options, TextWriter log)
    {
        // Read the description (and prove the weights load) once here, so a bad file fails before any copy starts.
        var (network, info) = SavedModel<MnistModelDescription>.Load(options.ModelPath, description => new LeNet5(description.ClassCount));
        string version = ServedModelLoading.VersionOf(options.ModelPath);
        IInferenceModel model;
        using (network)
        {
            if ((options.Backend ?? ServingBackend.Onnx) == ServingBackend.Onnx)
            {
                // The export takes the normalised image, as the network does: the service normalises in Preprocess.
                string onnxPath = ServedModelLoading.EnsureOnnxExport(options.ModelPath, path => network.ExportOnnx(path), log);
                model = ServedModelLoading.StartInference(options, threads => new OnnxRuntimeBackend(onnxPath, ModelName, version, threads));
            }
            else
            {
                var signature = new ModelSignature(ModelName, version, "torchsharp",
                    [new TensorSpec("images", TensorDatatype.FP32, [-1, 1, 28, 28])],
                    [new TensorSpec("logits", TensorDatatype.FP32, [-1, info.ClassCount]), new TensorSpec("probabilities", TensorDatatype.FP32, [-1, info.ClassCount])]);
                model = ServedModelLoading.StartInference(options, threads =>
                {
                    var copy = SavedModel<MnistModelDescription>.Load(options.ModelPath, description => new LeNet5(description.ClassCount)).Model;
                    return new TorchSharpBackend(signature, inputs =>
                    {
                        var logits = copy.forward(inputs[0]);
                        return [logits, torch.nn.functional.softmax(logits, 1)];
                    }, copy, threads);
                });
            }
        }
        var labels = info.Dataset.Contains("Fashion", StringComparison.OrdinalIgnoreCase) ? MnistDataSets.FashionNames : MnistDataSets.DigitNames;
        return new ImageClassifierServing(ModelName, model, labels, image => Preprocess(image, info.Mean, info.Std), "probabilities");
    }

    /// <summary>
    /// An uploaded picture as LeNet-5 saw its training images: 28x28 grey, a light figure on a dark background, scaled to
    /// [0, 1] and standardised with the training set's mean and std. MNIST and Fashion-MNIST are light on dark; a digit
    /// drawn or scanned on paper is dark on light, so a picture whose mean grey is above the middle is inverted first.
    /// </summary>
    public static float[] Preprocess(Image<Rgb24> image, double mean, double std)
    {
        var frame = Resize.FromDecoded(image, 28, 28);
        var grey = new float[28 * 28];
        double sum = 0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                sum += grey[y * 28 + x] = (frame[x, y, 0] + frame[x, y, 1] + frame[x, y, 2]) / (3 * 255f);
        bool darkOnLight = sum / grey.Length > 0.5;
        for (int i = 0; i < grey.Length; i++)
            grey[i] = (float)(((darkOnLight ? 1 - grey[i] : grey[i]) - mean) / std);
        return grey;
    }
}
