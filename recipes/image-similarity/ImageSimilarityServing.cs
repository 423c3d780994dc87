using Recipes.Runtime.Data;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using SixLabors.ImageSharp;

namespace Recipes.ImageSimilarity;

/// <summary>
/// <c>image-similarity serve</c>: query the saved index by upload. The served model is the recipe's feature extractor
/// (ImageNet ResNet-18 to its 512 pooled features, the ImageNet preprocessing included), so <c>/v2/models/image-similarity/infer</c>
/// takes 224x224 RGB pictures (0..255) and gives their features; <c>/predict</c> gives the upload the recipe's
/// preprocessing (short side to 256, centre 224x224 crop), embeds it, and answers the <c>?top=K</c> (5 by default)
/// indexed pictures of highest cosine similarity with their labels and a link, <c>/images/{id}</c>, that serves the
/// indexed file: only files the index lists, by their position in it, never a path from the client.
/// <para>Features run on ONNX Runtime by default (the recipe's default backbone) or TorchSharp (<c>--backend torch</c>);
/// the two agree within 1e-3, so either may query an index built by the other.</para>
/// </summary>
public sealed class ImageSimilarityServing : ServedModel
{
    public const string ModelName = "image-similarity";
    public const int ResizeShortSide = 256;
    public const int DefaultTop = 5;
    const int MaxTop = 50;
    const long MaxStoredImageBytes = 32L * 1024 * 1024;

    static readonly ImageChain QueryTransform = new([new ScaleShortSide(ResizeShortSide), new CenterCrop(ImageNetResNet18.ImageSize, ImageNetResNet18.ImageSize)]);

    readonly ImageFeatureIndex _index;
    readonly string?[] _files; // each indexed picture's file where it is one on this machine (generated pictures are not)

    ImageSimilarityServing(IInferenceModel model, ImageFeatureIndex index) : base(ModelName, model, ResultKind.Neighbours)
    {
        _index = index;
        _files = [.. index.Images.Select(image => File.Exists(image.Path) ? Path.GetFullPath(image.Path) : null)];
    }

    public ImageFeatureIndex Index => _index;

    public static ServedModel Load(ServeOptions options) => Load(options, Console.Out);

    /// <summary>
    /// Loads the index at <c>--model</c> (default: <c>index.bin</c> of the output folder, which the recipe writes; a
    /// <c>--model</c> left at the generic <c>model.bin</c> default is read as that folder's <c>index.bin</c>).
    /// </summary>
    public static ServedModel Load(ServeOptions options, TextWriter log)
    {
        string indexPath = IndexPath(options.ModelPath);
        var index = ImageFeatureIndex.Load(indexPath);
        if (index.Count == 0) throw new DataFileException(indexPath, "the index holds no pictures");
        if (index.Dimension != ImageNetResNet18.FeatureLength)
            throw new DataFileException(indexPath, $"the index holds {index.Dimension}-value features; this recipe's ResNet-18 gives {ImageNetResNet18.FeatureLength}");
        string version = ServedModelLoading.VersionOf(indexPath);
        var backend = options.Backend == ServingBackend.Torch ? FeatureBackend.TorchSharp : FeatureBackend.OnnxRuntime;
        var signature = new ModelSignature(ModelName, version, backend == FeatureBackend.OnnxRuntime ? OnnxRuntimeBackend.PlatformName : "torchsharp",
            [new TensorSpec("images", TensorDatatype.FP32, [-1, 3, ImageNetResNet18.ImageSize, ImageNetResNet18.ImageSize])],
            [new TensorSpec("features", TensorDatatype.FP32, [-1, ImageNetResNet18.FeatureLength])]);
        var model = ServedModelLoading.StartInference(options, threads => FeatureCopy(signature, backend, threads));
        log.WriteLine($"Index: {indexPath}, {index.Count} pictures of {index.ClassNames.Count} classes, features by {index.FeatureDescription}; " +
                      $"queries embedded by ResNet-18 on {backend}, version {version}");
        return new ImageSimilarityServing(model, index);
    }

    /// <summary>The index file <paramref name="modelPath"/> names: itself, or <c>index.bin</c> beside a <c>model.bin</c> that is not there.</summary>
    public static string IndexPath(string modelPath)
    {
        if (File.Exists(modelPath)) return modelPath;
        string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "index.bin");
        if (Path.GetFileName(modelPath) == "model.bin" && File.Exists(beside)) return beside;
        throw new DataFileException(modelPath, "no saved index here (run the recipe first, which writes <output>/index.bin, or pass --model INDEX)");
    }

    /// <summary>One model copy: ImageNet preprocessing (RGB to BGR, minus the mean image), then the backbone's features.</summary>
    static TorchSharpBackend FeatureCopy(ModelSignature signature, FeatureBackend backend, int threads)
    {
        var preprocessing = ImageNetResNet18.LoadPreprocessing();
        var extractor = ImageNetResNet18.FeatureExtractor(backend, threads);
        return new TorchSharpBackend(signature, inputs =>
        {
            using var preprocessed = preprocessing.Apply(inputs[0]);
            return [extractor.Extract(preprocessed)];
        }, new CopyResources(preprocessing, extractor), threads);
    }

    public override IReadOnlyList<NamedTensor> ToModelInputs(PredictRequest request)
    {
        var frame = ServedModelLoading.Transform(request.RequireImage(), QueryTransform);
        return [new NamedTensor("images", [1, 3, frame.Height, frame.Width], Floats: ServedModelLoading.ChwRow(frame))];
    }

    public override object ToAnswer(PredictRequest request, IReadOnlyList<NamedTensor> outputs)
    {
        int top = request.IntParameter("top", Math.Min(DefaultTop, _index.Count), 1, Math.Min(MaxTop, _index.Count));
        float[] features = Output(outputs, "features").Floats ?? throw new InvalidOperationException("output 'features' is not FP32");
        var neighbours = _index.Query(features, top).Select(match => new Neighbour(
            match.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            match.Cosine,
            match.Image.Label >= 0 && match.Image.Label < _index.ClassNames.Count ? _index.ClassNames[match.Image.Label] : null,
            _files[match.Index] is null ? null : $"/images/{match.Index}")).ToList();
        return new NeighboursAnswer(Name, neighbours);
    }

    /// <summary>The indexed picture at position <paramref name="id"/> (digits only), when it is a file here and still an image.</summary>
    public override StoredImage? FindStoredImage(string id)
    {
        if (id.Length is 0 or > 9 || !id.All(char.IsAsciiDigit)) return null;
        int position = int.Parse(id, System.Globalization.CultureInfo.InvariantCulture);
        if (position >= _files.Length || _files[position] is not { } file) return null;
        var info = new FileInfo(file);
        if (!info.Exists || info.Length > MaxStoredImageBytes) return null;
        byte[] content = File.ReadAllBytes(file);
        try
        {
            var format = Image.DetectFormat(content);
            return new StoredImage(content, format.DefaultMimeType);
        }
        catch (Exception error) when (error is UnknownImageFormatException or InvalidImageContentException)
        {
            return null; // the file changed since it was indexed: not an image any more
        }
    }

    public override object? PageSettings => new { pictures = _index.Count, classes = _index.ClassNames };

    /// <summary>What one copy owns, disposed with it.</summary>
    sealed class CopyResources(IDisposable preprocessing, IDisposable extractor) : IDisposable
    {
        public void Dispose()
        {
            extractor.Dispose();
            preprocessing.Dispose();
        }
    }
}
