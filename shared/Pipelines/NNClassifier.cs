using Microsoft.ML;
using Microsoft.ML.Data;
using Recipes.Runtime.Training;
using Recipes.Runtime.Vision;
using TorchSharp.Modules;

namespace Recipes.Runtime.Pipelines;

/// <summary>Everything an <see cref="NNClassifier"/> needs besides the data.</summary>
public sealed record NNClassifierOptions
{
    /// <summary>The image column: file paths (text) or encoded image bytes (a vector of bytes).</summary>
    public string ImageColumn { get; init; } = "Image";

    /// <summary>The label column: a key (from MapValueToKey, class names taken from its key values), or integers 0..classes-1, or booleans.</summary>
    public string LabelColumn { get; init; } = "Label";

    /// <summary>Added by the model: the most probable class, as a key of the label's type.</summary>
    public string PredictedLabelColumn { get; init; } = "PredictedLabel";

    /// <summary>Added by the model: every class's probability (softmax of the network's outputs).</summary>
    public string ScoreColumn { get; init; } = "Score";

    /// <summary>Class names when the label column is not a key with key values (their count is the class count).</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Decoding and image transforms for training (may hold random augmentations).</summary>
    public required ImagePipeline TrainingImages { get; init; }

    /// <summary>Decoding and image transforms for prediction (deterministic); defaults to <see cref="TrainingImages"/>.</summary>
    public ImagePipeline? PredictionImages { get; init; }

    /// <summary>A batch-level stage between the image pipeline and the network (ImageNet preprocessing, frozen features).</summary>
    public Func<Tensor, Tensor>? ModelInputs { get; init; }

    /// <summary>Compute the model inputs of the training images once and keep them in memory (right for frozen features).</summary>
    public bool CacheModelInputs { get; init; }

    /// <summary>Makes the network to train; called once per data-parallel replica and once for the returned model.</summary>
    public required Func<nn.Module<Tensor, Tensor>> CreateNetwork { get; init; }

    /// <summary>Makes the optimizer; it is given only the parameters that require gradients (frozen layers stay out).</summary>
    public Func<IEnumerable<Parameter>, optim.Optimizer> CreateOptimizer { get; init; } = parameters => optim.Adam(parameters, lr: 1e-3);

    /// <summary>Epochs, global batch, seed, replicas (local[N]), observers, checkpoints: the runtime's trainer settings.</summary>
    public required TrainerSettings Training { get; init; }

    /// <summary>Threads that decode and transform images in parallel (0: one per core).</summary>
    public int DecodingWorkers { get; init; }
}

/// <summary>
/// An ML.NET estimator that trains a TorchSharp classifier on images, like Analytics Zoo's NNClassifier:
/// <see cref="Fit(IDataView)"/> reads the image and label columns of any <see cref="IDataView"/>, runs the
/// images through the runtime's image pipeline (and an optional tensor stage), trains the network with the
/// runtime's data-parallel <see cref="Trainer"/>, and returns an <see cref="NNClassifierModel"/>: a
/// transformer that adds a predicted-label column and a probability column to any data view with the
/// same image column, ready for ML.NET's multiclass evaluator.
/// </summary>
public sealed class NNClassifier(MLContext ml, NNClassifierOptions options) : IEstimator<NNClassifierModel>
{
    public NNClassifierOptions Options { get; } = options;

    public NNClassifierModel Fit(IDataView input) => Fit(input, validation: null).Model;

    /// <summary>Trains, validating on <paramref name="validation"/> when given; returns the model and the training history.</summary>
    public (NNClassifierModel Model, TrainingResult Result, SkippedImages Skipped) Fit(IDataView input, IDataView? validation)
    {
        var columns = ImageColumns.Resolve(input.Schema, Options, requireLabel: true);
        var training = columns.ReadImageSet(input, "training");
        if (training.Count == 0) throw new ArgumentException("the training data view has no rows");
        var skipped = new SkippedImages();
        using var trainSource = new OwnedBatchSource(BatchSource(training, Options.TrainingImages, Options.CacheModelInputs, skipped));
        using var validationSource = validation is null ? null
            : new OwnedBatchSource(BatchSource(ImageColumns.Resolve(validation.Schema, Options, requireLabel: true).ReadImageSet(validation, "validation"),
                Options.PredictionImages ?? Options.TrainingImages, cache: true, skipped));

        var settings = Options.Training;
        if (validationSource is not null && settings.ValidationMethods.Count == 0)
            settings = settings with { ValidationMethods = [new Top1Accuracy(), new LossValidation(CrossEntropy)] };
        TrainingResult result;
        nn.Module<Tensor, Tensor> network;
        using (var trainer = new Trainer(Options.CreateNetwork, parameters => Options.CreateOptimizer(parameters.Where(p => p.requires_grad)), CrossEntropy, settings))
        {
            result = trainer.Fit(trainSource.Source, validationSource?.Source);
            network = Options.CreateNetwork();
            network.load_state_dict(trainer.Model.state_dict());
        }
        network.eval();
        var model = new NNClassifierModel(ml, network, Options, columns.ImageIsBytes, training.ClassNames);
        return (model, result, skipped);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var image = inputSchema.FirstOrDefault(c => c.Name == Options.ImageColumn);
        if (image.Name is null) throw new ArgumentException($"the data has no image column '{Options.ImageColumn}'");
        bool imageIsBytes = image.Kind == SchemaShape.Column.VectorKind.VariableVector;
        // A SchemaShape carries no key counts or vector sizes, so the class count does not change the shape.
        var names = Options.ClassNames ?? ["0", "1"];
        return NNClassifierModel.MappingEstimator(ml, Options, imageIsBytes, names, (_, _) => { }).GetOutputSchema(inputSchema);
    }

    IBatchSource BatchSource(ImageSet images, ImagePipeline pipeline, bool cache, SkippedImages skipped)
    {
        var decoded = new ImageBatchSource(images, pipeline, Options.DecodingWorkers);
        if (!cache)
        {
            IBatchSource source = Options.ModelInputs is null ? decoded : new TransformedBatchSource(decoded, Options.ModelInputs);
            return new SkipReportingSource(source, decoded.Skipped, skipped);
        }
        // Kept in memory (and every validation set): unusable images are left out, not replaced by a neighbour,
        // so validation measures each usable image once, as the test evaluation does.
        var materialised = decoded.MaterialiseUsable(Options.ModelInputs);
        foreach (var item in decoded.Skipped.Items) skipped.Add(item.Origin, item.Problem);
        return materialised;
    }

    static Tensor CrossEntropy(Tensor output, Tensor target) => nn.functional.cross_entropy(output, target);

    /// <summary>Passes batches through and copies the decoder's skipped files into the run's list as they appear.</summary>
    sealed class SkipReportingSource(IBatchSource inner, SkippedImages decoderSkips, SkippedImages runSkips) : IBatchSource
    {
        public int Count => inner.Count;

        public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
        {
            var batch = inner.GetBatch(indices);
            if (decoderSkips.Count != runSkips.Count)
                foreach (var item in decoderSkips.Items) runSkips.Add(item.Origin, item.Problem);
            return batch;
        }
    }

    /// <summary>Disposes a batch source when it holds tensors.</summary>
    sealed class OwnedBatchSource(IBatchSource source) : IDisposable
    {
        public IBatchSource Source { get; } = source;
        public void Dispose() => (Source as IDisposable)?.Dispose();
    }
}

/// <summary>How an estimator reads the image and label columns of a data view.</summary>
sealed class ImageColumns
{
    ImageColumns(DataViewSchema.Column image, DataViewSchema.Column? label, bool imageIsBytes, IReadOnlyList<string> classNames)
    {
        Image = image;
        Label = label;
        ImageIsBytes = imageIsBytes;
        ClassNames = classNames;
    }

    public DataViewSchema.Column Image { get; }
    public DataViewSchema.Column? Label { get; }
    public bool ImageIsBytes { get; }
    public IReadOnlyList<string> ClassNames { get; }

    public static ImageColumns Resolve(DataViewSchema schema, NNClassifierOptions options, bool requireLabel)
    {
        var image = schema.GetColumnOrNull(options.ImageColumn)
            ?? throw new ArgumentException($"the data has no image column '{options.ImageColumn}'; its columns are {string.Join(", ", schema.Select(c => c.Name))}");
        bool bytes = image.Type is VectorDataViewType { ItemType: var item } && item == NumberDataViewType.Byte;
        if (!bytes && image.Type is not TextDataViewType)
            throw new ArgumentException($"image column '{image.Name}' has type {image.Type}; it must hold file paths (text) or encoded bytes (a vector of bytes)");
        var label = schema.GetColumnOrNull(options.LabelColumn);
        if (label is null)
        {
            if (requireLabel) throw new ArgumentException($"the data has no label column '{options.LabelColumn}'");
            return new ImageColumns(image, null, bytes, options.ClassNames ?? []);
        }
        var column = label.Value;
        var type = column.Type;
        IReadOnlyList<string> classNames;
        if (type is KeyDataViewType key)
        {
            VBuffer<ReadOnlyMemory<char>> keyValues = default;
            bool hasNames = column.Annotations.Schema.GetColumnOrNull("KeyValues") is not null;
            if (hasNames) column.GetKeyValues(ref keyValues);
            classNames = hasNames ? keyValues.DenseValues().Select(v => v.ToString()).ToArray()
                : options.ClassNames ?? Enumerable.Range(0, (int)key.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        else if (type == NumberDataViewType.Int32 || type == NumberDataViewType.Int64 || type == NumberDataViewType.UInt32 || type == BooleanDataViewType.Instance)
            classNames = type == BooleanDataViewType.Instance ? options.ClassNames ?? ["false", "true"]
                : options.ClassNames ?? throw new ArgumentException($"label column '{column.Name}' holds numbers: give ClassNames, or make it a key column with MapValueToKey");
        else
            throw new ArgumentException($"label column '{column.Name}' has type {type}; use a key (MapValueToKey), integers or booleans");
        return new ImageColumns(image, column, bytes, classNames);
    }

    /// <summary>Reads every row's image (path or bytes) and label into an image set.</summary>
    public ImageSet ReadImageSet(IDataView data, string role)
    {
        var entries = new List<ImageEntry>();
        var columns = Label is { } labelColumn ? new[] { Image, labelColumn } : [Image];
        using var cursor = data.GetRowCursor(columns);
        var readImage = ImageReader(cursor);
        var readLabel = Label is { } column ? LabelReader(cursor, column) : null;
        long row = 0;
        while (cursor.MoveNext())
        {
            var entry = readImage(row);
            int label = ImageEntry.Unlabelled;
            if (readLabel is not null)
            {
                label = readLabel();
                if (label < 0 || label >= ClassNames.Count)
                    throw new ArgumentException($"{role} row {row} ({entry.Origin}): label {label} is not one of the {ClassNames.Count} classes (a missing key, or out of range)");
            }
            entries.Add(entry with { Label = label });
            row++;
        }
        return new ImageSet(entries, ClassNames);
    }

    /// <summary>Reads the current row's image as an entry (its label still unset).</summary>
    public Func<long, ImageEntry> ImageReader(DataViewRow row)
    {
        if (ImageIsBytes)
        {
            var getBytes = row.GetGetter<VBuffer<byte>>(Image);
            return index =>
            {
                VBuffer<byte> buffer = default;
                getBytes(ref buffer);
                return new ImageEntry($"row {index} ({Image.Name})") { EncodedBytes = buffer.DenseValues().ToArray() };
            };
        }
        var getPath = row.GetGetter<ReadOnlyMemory<char>>(Image);
        return _ =>
        {
            ReadOnlyMemory<char> path = default;
            getPath(ref path);
            return new ImageEntry(path.ToString());
        };
    }

    static Func<int> LabelReader(DataViewRow row, DataViewSchema.Column column)
    {
        var type = column.Type;
        if (type is KeyDataViewType)
        {
            var get = row.GetGetter<uint>(column);
            // Keys count from 1; 0 is the missing value and becomes -1 (rejected by the caller).
            return () => { uint key = 0; get(ref key); return (int)key - 1; };
        }
        if (type == NumberDataViewType.Int32) { var get = row.GetGetter<int>(column); return () => { int v = 0; get(ref v); return v; }; }
        if (type == NumberDataViewType.Int64) { var get = row.GetGetter<long>(column); return () => { long v = 0; get(ref v); return checked((int)v); }; }
        if (type == NumberDataViewType.UInt32) { var get = row.GetGetter<uint>(column); return () => { uint v = 0; get(ref v); return checked((int)v); }; }
        var getBool = row.GetGetter<bool>(column);
        return () => { bool v = false; getBool(ref v); return v ? 1 : 0; };
    }
}
