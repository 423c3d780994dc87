using Recipes.Runtime.Models;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Recipes.Mnist;

/// <summary>
/// What <c>mnist serve</c> needs beyond the shared service: the saved LeNet-5 as an <see cref="InferenceModel"/> whose
/// copies answer class probabilities (input <c>image</c>, FP32 [-1, 1, 28, 28], normalised as at training; output
/// <c>probabilities</c>, [-1, classes]), and the preprocessing that turns an uploaded picture into that input.
/// </summary>
public static class MnistServing
{
    public const string ModelName = "mnist";

    public static ServedModel Load(ServeOptions options)
    {
        // Read the description (and prove the weights load) once here, so a bad file fails before any copy starts.
        SavedClassifierInfo info;
        using (SavedClassifier.Load(options.ModelPath, description => new LeNet5(description.ClassCount), out info)) { }
        var signature = new ModelSignature(ModelName, Version(options.ModelPath), "torchsharp",
            [new TensorSpec("image", TensorDatatype.FP32, [-1, 1, 28, 28])],
            [new TensorSpec("probabilities", TensorDatatype.FP32, [-1, info.ClassCount])]);
        int copies = options.Copies ?? InferenceOptions.DefaultCopies();
        int threads = InferenceOptions.IntraOpThreadsPerCopy(copies);
        var model = new InferenceModel(copy =>
        {
            var network = SavedClassifier.Load(options.ModelPath, description => new LeNet5(description.ClassCount), out _);
            // Probabilities rather than logits: what a client of /v2/.../infer wants to read.
            return new TorchSharpBackend(signature, inputs => [torch.nn.functional.softmax(network.forward(inputs[0]), 1)], network, threads);
        }, new InferenceOptions(copies, options.MaxBatch, options.MaxDelay));
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

    /// <summary>The model file's time of writing, so a retrained model shows as a new version in the metadata.</summary>
    static string Version(string modelPath) =>
        File.GetLastWriteTimeUtc(modelPath).ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
}
