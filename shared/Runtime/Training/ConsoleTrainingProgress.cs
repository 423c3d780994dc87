using System.Globalization;
using Spectre.Console;

namespace Recipes.Runtime.Training;

/// <summary>
/// Shows training as it happens: in a terminal, one Spectre.Console progress bar per epoch with the running
/// loss and samples/s, each left behind with the epoch's results; when output is redirected (CI, logs),
/// one plain line per epoch and a few per long epoch.
/// </summary>
public sealed class ConsoleTrainingProgress : ITrainingObserver, IDisposable
{
    readonly bool _interactive = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    /// <summary>Which validation scores the epoch lines show (all when null): a multi-label model's per-class
    /// scores would crowd out the ones that matter.</summary>
    public Func<string, bool>? ShowScore { get; init; }
    readonly ManualResetEventSlim _ready = new();
    readonly ManualResetEventSlim _finished = new();
    Task? _display;
    ProgressContext? _context;
    ProgressTask? _epochTask;
    int _lastPlainQuarter = -1;
    double _smoothedSamplesPerSecond;

    public void TrainingStarted(TrainingStart start)
    {
        Console.WriteLine(StartLine(start));
        if (start.NothingToTrain || !_interactive) return;
        _display = Task.Run(() => AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                _context = context;
                _ready.Set();
                _finished.Wait();
                context.Refresh();
            }));
        _ready.Wait();
    }

    /// <summary>What the run is about to do, in one line: train from the start, resume (at an epoch boundary or mid-epoch),
    /// or nothing, because the checkpoint's run already reached the epochs asked for.</summary>
    public static string StartLine(TrainingStart start)
    {
        string size = $"{start.SampleCount:N0} samples, {start.BatchesPerEpoch} steps per epoch";
        if (start.NothingToTrain)
            return $"Nothing to train: the checkpoint's run already completed {start.FirstEpoch} epoch{(start.FirstEpoch == 1 ? "" : "s")} " +
                   $"(--epochs {start.Epochs}); raise --epochs to train longer, or drop --resume to train again from the start. " +
                   "Evaluating the checkpoint's model.";
        if (start.FirstBatch > 0)
            return $"Resuming at epoch {start.FirstEpoch + 1}/{start.Epochs}, batch {start.FirstBatch + 1}/{start.BatchesPerEpoch}: {size}";
        if (start.FirstEpoch > 0 || start.Resumed)
            return $"Resuming at epoch {start.FirstEpoch + 1}/{start.Epochs}: {size}";
        return $"Training {start.Epochs} epoch{(start.Epochs == 1 ? "" : "s")}: {size}";
    }

    public void IterationCompleted(IterationReport report)
    {
        _smoothedSamplesPerSecond = _smoothedSamplesPerSecond == 0
            ? report.SamplesPerSecond
            : 0.9 * _smoothedSamplesPerSecond + 0.1 * report.SamplesPerSecond;
        string running = string.Create(CultureInfo.InvariantCulture,
            $"loss {report.Loss:F4}  lr {report.LearningRate:G3}  {_smoothedSamplesPerSecond:N0} samples/s");
        if (_interactive)
        {
            if (_epochTask is null || report.BatchInEpoch == 0 && _epochTask.IsFinished)
                _epochTask = _context!.AddTask(EpochLabel(report.Epoch, report.Epochs), maxValue: report.BatchesPerEpoch);
            _epochTask.Value = report.BatchInEpoch + 1;
            _epochTask.Description = $"{EpochLabel(report.Epoch, report.Epochs)}  {running}";
            return;
        }
        int quarter = 4 * (report.BatchInEpoch + 1) / report.BatchesPerEpoch;
        if (report.BatchesPerEpoch >= 40 && quarter != _lastPlainQuarter && quarter is > 0 and < 4)
        {
            _lastPlainQuarter = quarter;
            Console.WriteLine($"  {EpochLabel(report.Epoch, report.Epochs)} {25 * quarter}%  {running}");
        }
    }

    public void EpochCompleted(EpochReport report)
    {
        string summary = Summary(report);
        _lastPlainQuarter = -1;
        if (_interactive && _epochTask is not null)
        {
            _epochTask.Description = Markup.Escape(summary);
            _epochTask.Value = _epochTask.MaxValue;
            _epochTask.StopTask();
            _epochTask = null;
            return;
        }
        Console.WriteLine(summary);
    }

    public void TrainingFinished(TrainingResult result)
    {
        StopDisplay();
        if (result.Interrupted)
            AnsiConsole.MarkupLine($"[yellow]Stopped after {result.Iterations} steps; a checkpoint was saved. Run again with --resume to continue.[/]");
    }

    static string EpochLabel(int epoch, int epochs) => $"epoch {epoch + 1}/{epochs}";

    string Summary(EpochReport report)
    {
        var parts = new List<string>
        {
            EpochLabel(report.Epoch, report.Epochs),
            string.Create(CultureInfo.InvariantCulture, $"train loss {report.TrainLoss:F4}"),
        };
        foreach (var (name, value) in report.Validation.Where(score => ShowScore?.Invoke(score.Key) ?? true))
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"val {name} {value:F4}"));
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"{report.SamplesPerSecond:N0} samples/s"));
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"{report.Seconds:F1} s"));
        return string.Join("  ", parts);
    }

    void StopDisplay()
    {
        _finished.Set();
        _display?.Wait();
        _display = null;
    }

    public void Dispose()
    {
        StopDisplay();
        _ready.Dispose();
        _finished.Dispose();
    }
}
