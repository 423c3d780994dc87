using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;

namespace Recipes.Runtime.Summaries;

/// <summary>The metrics of one finished epoch, by name (see <see cref="TrainingMetricNames"/> for the usual ones).</summary>
public sealed record EpochRecord(int Epoch, IReadOnlyDictionary<string, double> Metrics)
{
    public double? this[string metricName] => Metrics.TryGetValue(metricName, out double value) ? value : null;
}

/// <summary>The training loss of one iteration; <see cref="Iteration"/> counts from the start of training.</summary>
public readonly record struct IterationLoss(int Epoch, long Iteration, double Loss);

/// <summary>Metric names the recipes share, so charts and tables find them; any other name works too.</summary>
public static class TrainingMetricNames
{
    public const string TrainLoss = "train_loss";
    public const string ValidationLoss = "val_loss";
    public const string ValidationAccuracy = "val_accuracy";
    public const string LearningRate = "learning_rate";
    public const string SamplesPerSecond = "samples_per_second";
    public const string Seconds = "seconds";
}

/// <summary>
/// What a training run measured: one row of named metrics per epoch and the loss of (some or all) iterations.
/// Saved as <c>history.csv</c> (epochs, for spreadsheets) and <c>history.json</c> (everything, loadable so a
/// resumed run carries on with its history). Both are written atomically. All members are thread-safe.
/// </summary>
public sealed class TrainingHistory
{
    public const string CsvFileName = "history.csv";
    public const string JsonFileName = "history.json";

    // NaN losses happen (a diverging run) and must survive the round trip rather than break the save.
    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        RespectRequiredConstructorParameters = true,
    };

    readonly object _gate = new();
    readonly List<EpochRecord> _epochs = [];
    readonly List<IterationLoss> _iterations = [];
    readonly List<string> _metricNames = [];

    public IReadOnlyList<EpochRecord> Epochs { get { lock (_gate) return _epochs.ToArray(); } }

    public IReadOnlyList<IterationLoss> Iterations { get { lock (_gate) return _iterations.ToArray(); } }

    /// <summary>Every metric name seen, in the order first recorded (the CSV column order).</summary>
    public IReadOnlyList<string> MetricNames { get { lock (_gate) return _metricNames.ToArray(); } }

    /// <summary>Records a finished epoch. Epochs must increase; after resuming, see <see cref="DiscardAfterEpoch"/>.</summary>
    public void RecordEpoch(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        foreach (string name in metrics.Keys)
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("Metric names must not be empty.", nameof(metrics));
        lock (_gate)
        {
            if (_epochs.Count > 0 && epoch <= _epochs[^1].Epoch)
                throw new InvalidOperationException($"Epoch {epoch} recorded after epoch {_epochs[^1].Epoch}; epochs must increase (call DiscardAfterEpoch when resuming from an earlier checkpoint).");
            AddEpoch(new EpochRecord(epoch, new Dictionary<string, double>(metrics)));
        }
    }

    public void RecordIterationLoss(int epoch, long iteration, double loss)
    {
        lock (_gate)
        {
            if (_iterations.Count > 0 && iteration <= _iterations[^1].Iteration)
                throw new InvalidOperationException($"Iteration {iteration} recorded after iteration {_iterations[^1].Iteration}; iterations must increase.");
            _iterations.Add(new IterationLoss(epoch, iteration, loss));
        }
    }

    /// <summary>
    /// Forgets epochs (and their iterations) after <paramref name="lastKeptEpoch"/>: a run resumed from that
    /// epoch's checkpoint will record the later ones again.
    /// </summary>
    public void DiscardAfterEpoch(int lastKeptEpoch)
    {
        lock (_gate)
        {
            _epochs.RemoveAll(record => record.Epoch > lastKeptEpoch);
            _iterations.RemoveAll(record => record.Epoch > lastKeptEpoch);
            _metricNames.RemoveAll(name => !_epochs.Any(record => record.Metrics.ContainsKey(name)));
        }
    }

    /// <summary>One metric across epochs, skipping epochs that did not record it.</summary>
    public IReadOnlyList<(int Epoch, double Value)> MetricSeries(string metricName)
    {
        lock (_gate)
            return _epochs.Where(record => record.Metrics.ContainsKey(metricName))
                          .Select(record => (record.Epoch, record.Metrics[metricName]))
                          .ToArray();
    }

    /// <summary>Writes <c>history.csv</c> and <c>history.json</c> into <paramref name="folder"/>.</summary>
    public void Save(string folder)
    {
        WriteCsv(Path.Combine(folder, CsvFileName));
        WriteJson(Path.Combine(folder, JsonFileName));
    }

    /// <summary>One row per epoch: <c>epoch</c> then every metric; a metric an epoch did not record is left empty.</summary>
    public void WriteCsv(string path)
    {
        var text = new StringBuilder();
        lock (_gate)
        {
            text.AppendJoin(',', new[] { "epoch" }.Concat(_metricNames.Select(QuoteCsv))).Append('\n');
            foreach (var record in _epochs)
            {
                text.Append(record.Epoch.ToString(CultureInfo.InvariantCulture));
                foreach (string name in _metricNames)
                {
                    text.Append(',');
                    if (record.Metrics.TryGetValue(name, out double value)) text.Append(value.ToString("R", CultureInfo.InvariantCulture));
                }
                text.Append('\n');
            }
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }

    public void WriteJson(string path)
    {
        HistoryDocument document;
        lock (_gate)
        {
            document = new HistoryDocument(
                _epochs.Select(record => new EpochDocument(record.Epoch, new Dictionary<string, double>(record.Metrics))).ToList(),
                _iterations.Select(record => new IterationDocument(record.Epoch, record.Iteration, record.Loss)).ToList());
        }
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, document, JsonOptions));
    }

    /// <summary>Loads a history saved by <see cref="WriteJson"/>; a malformed file raises <see cref="DataFileException"/>.</summary>
    public static TrainingHistory Load(string jsonPath)
    {
        HistoryDocument? document;
        try
        {
            using var stream = File.OpenRead(jsonPath);
            document = JsonSerializer.Deserialize<HistoryDocument>(stream, JsonOptions);
        }
        catch (JsonException problem)
        {
            throw new DataFileException(jsonPath, $"not a valid training history: {problem.Message}", problem);
        }
        if (document?.Epochs is null || document.Iterations is null)
            throw new DataFileException(jsonPath, "not a valid training history: \"epochs\" and \"iterations\" arrays are required");

        var history = new TrainingHistory();
        try
        {
            foreach (var epoch in document.Epochs)
                history.RecordEpoch(epoch.Epoch, epoch.Metrics ?? throw new InvalidOperationException($"epoch {epoch.Epoch} has no \"metrics\" object"));
            foreach (var iteration in document.Iterations)
                history.RecordIterationLoss(iteration.Epoch, iteration.Iteration, iteration.Loss);
        }
        catch (Exception problem) when (problem is InvalidOperationException or ArgumentException)
        {
            throw new DataFileException(jsonPath, $"not a valid training history: {problem.Message}", problem);
        }
        return history;
    }

    /// <summary>The history saved in <paramref name="folder"/> if there is one (a resumed run), else an empty one.</summary>
    public static TrainingHistory LoadOrCreate(string folder)
    {
        string jsonPath = Path.Combine(folder, JsonFileName);
        return File.Exists(jsonPath) ? Load(jsonPath) : new TrainingHistory();
    }

    void AddEpoch(EpochRecord record)
    {
        _epochs.Add(record);
        foreach (string name in record.Metrics.Keys)
            if (!_metricNames.Contains(name)) _metricNames.Add(name);
    }

    static string QuoteCsv(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : $"\"{field.Replace("\"", "\"\"")}\"";

    sealed record HistoryDocument(List<EpochDocument>? Epochs, List<IterationDocument>? Iterations);

    sealed record EpochDocument(int Epoch, Dictionary<string, double>? Metrics);

    sealed record IterationDocument(int Epoch, long Iteration, double Loss);
}
