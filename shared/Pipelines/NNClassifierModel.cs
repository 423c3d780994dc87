using Microsoft.ML;
using Microsoft.ML.Data;
using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;

namespace Recipes.Runtime.Pipelines;

/// <summary>One image's classification.</summary>
public sealed record ImageClassification(string Origin, int PredictedClass, float[] Probabilities)
{
    public float Confidence => PredictedClass >= 0 ? Probabilities[PredictedClass] : float.NaN;
}

/// <summary>
/// A trained <see cref="NNClassifier"/>: an ML.NET transformer that adds <c>PredictedLabel</c> (a key over the
/// class names) and <c>Score</c> (class probabilities) columns to a data view with the image column,
/// computing them row by row as the view is read. An image that cannot be decoded gets the missing key (0)
/// and NaN probabilities and is listed in <see cref="Skipped"/>. <see cref="Classify"/> does the same work
/// in batches for a whole image set.
/// </summary>
public sealed class NNClassifierModel : ITransformer, IDisposable
{
    readonly nn.Module<Tensor, Tensor> _network;
    readonly NNClassifierOptions _options;
    readonly ITransformer _mapping;
    readonly object _networkLock = new();

    internal NNClassifierModel(MLContext ml, nn.Module<Tensor, Tensor> network, NNClassifierOptions options, bool imageIsBytes, IReadOnlyList<string> classNames)
    {
        _network = network;
        _options = options;
        ClassNames = classNames;
        var estimator = MappingEstimator(ml, options, imageIsBytes, classNames, Map);
        // CustomMapping learns nothing from data: fit it on an empty view with the image column's type.
        var empty = imageIsBytes
            ? ml.Data.LoadFromEnumerable(Array.Empty<BytesRow>(), EmptyViewDefinition(typeof(BytesRow), options))
            : ml.Data.LoadFromEnumerable(Array.Empty<PathRow>(), EmptyViewDefinition(typeof(PathRow), options));
        _mapping = estimator.Fit(empty);
    }

    public IReadOnlyList<string> ClassNames { get; }
    public nn.Module<Tensor, Tensor> Network => _network;
    public SkippedImages Skipped { get; } = new();
    ImagePipeline Pipeline => _options.PredictionImages ?? _options.TrainingImages;

    public bool IsRowToRowMapper => _mapping.IsRowToRowMapper;
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _mapping.GetOutputSchema(inputSchema);
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _mapping.GetRowToRowMapper(inputSchema);
    public IDataView Transform(IDataView input) => _mapping.Transform(input);

    /// <summary>ML.NET model files cannot hold a TorchSharp network: save <see cref="Network"/>'s weights instead.</summary>
    void ICanSaveModel.Save(ModelSaveContext context) =>
        throw new InvalidOperationException("an NNClassifierModel holds a TorchSharp network: save Network with SavedModel (weights and a description) instead of an ML.NET model file");

    /// <summary>Classifies every image of <paramref name="images"/> in batches; undecodable ones get class -1.</summary>
    public IReadOnlyList<ImageClassification> Classify(ImageSet images, int batchSize = 16)
    {
        var results = new List<ImageClassification>(images.Count);
        for (int start = 0; start < images.Count; start += batchSize)
        {
            var batch = images.Entries.Skip(start).Take(batchSize).ToList();
            using var scope = torch.NewDisposeScope();
            var frames = new List<(ImageEntry Entry, Tensor? Chw)>();
            foreach (var entry in batch)
            {
                try
                {
                    frames.Add((entry, Pipeline.Process(entry, 0, 0).ToTensor(Pipeline.ColourOrder, Pipeline.Scale)));
                }
                catch (DataFileException error)
                {
                    Skipped.Add(entry.Origin, error.Problem);
                    frames.Add((entry, null));
                }
            }
            var decoded = frames.Where(f => f.Chw is not null).ToList();
            float[][] probabilities = decoded.Count == 0 ? [] : Probabilities(torch.stack(decoded.Select(f => f.Chw!).ToArray()));
            int next = 0;
            foreach (var (entry, chw) in frames)
                results.Add(chw is null
                    ? new ImageClassification(entry.Origin, -1, Enumerable.Repeat(float.NaN, ClassNames.Count).ToArray())
                    : Classification(entry.Origin, probabilities[next++]));
        }
        return results;
    }

    static ImageClassification Classification(string origin, float[] probabilities)
    {
        int best = 0;
        for (int c = 1; c < probabilities.Length; c++) if (probabilities[c] > probabilities[best]) best = c;
        return new ImageClassification(origin, best, probabilities);
    }

    float[][] Probabilities(Tensor images)
    {
        lock (_networkLock)
        {
            _network.eval();
            using var noGrad = torch.no_grad();
            var inputs = _options.ModelInputs is null ? images : _options.ModelInputs(images);
            var probabilities = nn.functional.softmax(_network.forward(inputs), 1);
            int classes = (int)probabilities.shape[1];
            float[] flat = probabilities.data<float>().ToArray();
            return Enumerable.Range(0, (int)probabilities.shape[0]).Select(i => flat.AsSpan(i * classes, classes).ToArray()).ToArray();
        }
    }

    void Map(ImageRow source, ClassifiedRow destination)
    {
        var entry = source.ImageBytes is { } bytes ? new ImageEntry("an image in bytes") { EncodedBytes = bytes } : new ImageEntry(source.ImagePath ?? "");
        var result = Classify(new ImageSet([entry]), 1)[0];
        // CustomMapping stores a key member as a 0-based index (it adds 1 for the column's raw key), so the
        // missing key (raw 0) is written as uint.MaxValue, which wraps to 0.
        destination.PredictedLabel = result.PredictedClass < 0 ? uint.MaxValue : (uint)result.PredictedClass;
        destination.Score = result.Probabilities;
    }

    internal static IEstimator<ITransformer> MappingEstimator(MLContext ml, NNClassifierOptions options, bool imageIsBytes, IReadOnlyList<string> classNames, Action<ImageRow, ClassifiedRow> map)
    {
        var output = SchemaDefinition.Create(typeof(ClassifiedRow), SchemaDefinition.Direction.Write);
        var predicted = output[nameof(ClassifiedRow.PredictedLabel)];
        predicted.ColumnName = options.PredictedLabelColumn;
        predicted.ColumnType = new KeyDataViewType(typeof(uint), classNames.Count);
        var names = new VBuffer<ReadOnlyMemory<char>>(classNames.Count, classNames.Select(n => n.AsMemory()).ToArray());
        predicted.AddAnnotation("KeyValues", names, new VectorDataViewType(TextDataViewType.Instance, classNames.Count));
        var score = output[nameof(ClassifiedRow.Score)];
        score.ColumnName = options.ScoreColumn;
        score.ColumnType = new VectorDataViewType(NumberDataViewType.Single, classNames.Count);
        score.AddAnnotation("SlotNames", names, new VectorDataViewType(TextDataViewType.Instance, classNames.Count));
        return ml.Transforms.CustomMapping(map, contractName: null, MappingInput(options, imageIsBytes), output);
    }

    static SchemaDefinition MappingInput(NNClassifierOptions options, bool imageIsBytes)
    {
        var input = SchemaDefinition.Create(typeof(ImageRow), SchemaDefinition.Direction.Read);
        // Only the member matching the column's kind reads it; the other is left out of the definition.
        string used = imageIsBytes ? nameof(ImageRow.ImageBytes) : nameof(ImageRow.ImagePath);
        string unused = imageIsBytes ? nameof(ImageRow.ImagePath) : nameof(ImageRow.ImageBytes);
        input.Remove(input[unused]);
        input[used].ColumnName = options.ImageColumn;
        return input;
    }

    static SchemaDefinition EmptyViewDefinition(Type rowType, NNClassifierOptions options)
    {
        var definition = SchemaDefinition.Create(rowType, SchemaDefinition.Direction.Read);
        definition[0].ColumnName = options.ImageColumn;
        return definition;
    }

    public void Dispose() => _network.Dispose();

    internal sealed class ImageRow
    {
        public string? ImagePath { get; set; }
        public byte[]? ImageBytes { get; set; }
    }

    internal sealed class ClassifiedRow
    {
        public uint PredictedLabel { get; set; }
        public float[] Score { get; set; } = [];
    }

    sealed class PathRow
    {
        public string Image { get; set; } = "";
    }

    sealed class BytesRow
    {
        public byte[] Image { get; set; } = [];
    }
}
