using System.Diagnostics;
using System.Globalization;
using Recipes.AnomalyDetection;
using Recipes.Mnist;
using Recipes.NcfRecommendation;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Training;
using Spectre.Console;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Benchmarks;

/// <summary>
/// Does the input pipeline keep the trainer fed? For each recipe, training samples/s of the recipe's own data path
/// (its batch source, read on the step's threads and read ahead by the prefetcher) next to the trainer alone on the
/// same model, batch and replicas with the same batches already in memory as tensors (the source read once into an
/// <see cref="InMemoryBatchSource"/>). A ratio near 1 means the data path costs the trainer nothing. The three
/// configurations are measured in turn, round after round (each round starting with the next one), so that load from
/// elsewhere falls on all of them alike.
/// </summary>
static class PipelineBenchmark
{
    const int WarmUpSteps = 3;

    sealed record Case(string Recipe, string DataPath, string Model, int Batch, string Master, IBatchSource Source,
        Func<nn.Module<Tensor, Tensor>> CreateModel, Func<IEnumerable<Parameter>, optim.Optimizer> CreateOptimizer,
        Func<Tensor, Tensor, Tensor> Loss, IReadOnlyList<ITrainingObserver> SourceObservers) : IDisposable
    {
        /// <summary>Timed steps relative to <c>--steps</c>: more for recipes whose steps take milliseconds, fewer for slow ones.</summary>
        public double StepsFactor { get; init; } = 1;

        public void Dispose() => (Source as IDisposable)?.Dispose();
    }

    public static int Run(IReadOnlyList<string> recipes, int steps, int rounds, int mnistSamples, string master)
    {
        string[] known = ["mnist", "ncf-explicit", "ncf-implicit", "anomaly"];
        foreach (string recipe in recipes)
            if (!known.Contains(recipe))
            {
                AnsiConsole.MarkupLine($"[red]unknown recipe '{Markup.Escape(recipe)}': choose from {string.Join(", ", known)}[/]");
                return 2;
            }
        AnsiConsole.MarkupLine($"Input pipeline vs trainer alone: {steps} timed steps after {WarmUpSteps} warm-up steps, {rounds} rounds, " +
                               $"{Environment.ProcessorCount} cores; load average at start {LoadAverage()}");
        var table = new Table().AddColumns("recipe", "model, batch, master", "reading alone (1 thread)", "trainer alone, in memory",
            "recipe, read on the step", "ratio", "recipe, read ahead (2)", "ratio");
        foreach (string recipe in recipes)
        {
            using var benchmarkCase = Build(recipe, mnistSamples, master);
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(recipe)}: {Markup.Escape(benchmarkCase.DataPath)}, {benchmarkCase.Source.Count:N0} samples, " +
                                   $"{Math.Max(1, (int)Math.Round(steps * benchmarkCase.StepsFactor))} timed steps[/]");
            using var inMemory = TransformedBatchSource.Materialise(benchmarkCase.Source, benchmarkCase.Batch);
            var reading = new List<double>();
            var alone = new List<double>();
            var onStep = new List<double>();
            var ahead = new List<double>();
            int caseSteps = Math.Max(1, (int)Math.Round(steps * benchmarkCase.StepsFactor));
            var configurations = new (List<double> Rates, Func<double> Measure)[]
            {
                (reading, () => MeasureReading(benchmarkCase, caseSteps)),
                (alone, () => Measure(benchmarkCase, inMemory, prefetch: 0, caseSteps, [])),
                (onStep, () => Measure(benchmarkCase, benchmarkCase.Source, prefetch: 0, caseSteps, benchmarkCase.SourceObservers)),
                (ahead, () => Measure(benchmarkCase, benchmarkCase.Source, prefetch: 2, caseSteps, benchmarkCase.SourceObservers)),
            };
            for (int round = 0; round < rounds; round++)
            {
                // Each round starts with the next configuration, so that none is always first (or last) in line.
                for (int k = 0; k < configurations.Length; k++)
                {
                    var (rates, measure) = configurations[(round + k) % configurations.Length];
                    rates.Add(measure());
                }
                AnsiConsole.MarkupLine($"[grey]  round {round + 1}: reading {reading[^1]:N0}, alone {alone[^1]:N0}, on step {onStep[^1]:N0}, ahead {ahead[^1]:N0} samples/s; load {LoadAverage()}[/]");
            }
            double aloneMedian = Median(alone), onStepMedian = Median(onStep), aheadMedian = Median(ahead);
            table.AddRow(Markup.Escape(recipe), Markup.Escape($"{benchmarkCase.Model}, {benchmarkCase.Batch}, {benchmarkCase.Master}"),
                Rate(Median(reading)), Rate(aloneMedian), Rate(onStepMedian), Ratio(onStepMedian / aloneMedian), Rate(aheadMedian), Ratio(aheadMedian / aloneMedian));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"samples/s: medians over the rounds, steps only (the loop's wall time from the end of the last warm-up step to the end of the last timed one, no validation); load average at end {LoadAverage()}");
        return 0;
    }

    static string Rate(double samplesPerSecond) => samplesPerSecond.ToString("N0", CultureInfo.InvariantCulture);

    static string Ratio(double ratio) => ratio >= 0.8
        ? ratio.ToString("F2", CultureInfo.InvariantCulture)
        : $"[yellow]{ratio.ToString("F2", CultureInfo.InvariantCulture)}[/]";

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    /// <summary>Training samples/s over <paramref name="steps"/> steps after the warm-up: the wall time of the training loop
    /// between the end of the last warm-up step and the end of the last timed step (so time spent waiting for a batch counts).</summary>
    static double Measure(Case benchmarkCase, IBatchSource source, int prefetch, int steps, IReadOnlyList<ITrainingObserver> sourceObservers)
    {
        int totalSteps = WarmUpSteps + steps;
        int batchesPerEpoch = (source.Count + benchmarkCase.Batch - 1) / benchmarkCase.Batch;
        var clock = new StepClock(WarmUpSteps);
        using var trainer = new Trainer(benchmarkCase.CreateModel, benchmarkCase.CreateOptimizer, benchmarkCase.Loss, new TrainerSettings
        {
            GlobalBatchSize = benchmarkCase.Batch,
            Epochs = totalSteps / batchesPerEpoch + 2,
            EndWhen = Trigger.MaxIteration(totalSteps),
            Seed = 1,
            Master = LocalMaster.Parse(benchmarkCase.Master),
            PrefetchBatches = prefetch,
            Observers = [.. sourceObservers, clock],
        });
        trainer.Fit(source);
        return clock.SamplesPerSecond;
    }

    /// <summary>Samples/s of the data path alone: the first <paramref name="steps"/> batches of an epoch read on this
    /// thread and freed, no training. Far above the trainer's rate, the data path cannot be what holds training back.</summary>
    static double MeasureReading(Case benchmarkCase, int steps)
    {
        int[] order = Trainer.EpochOrder(benchmarkCase.Source.Count, seed: 1, epoch: 0);
        var clock = Stopwatch.StartNew();
        long samples = 0;
        for (int step = 0; step < steps; step++)
        {
            int start = step * benchmarkCase.Batch % order.Length, count = Math.Min(benchmarkCase.Batch, order.Length - start);
            using var scope = NewDisposeScope();
            using var seed = BatchSeed.Use(step);
            benchmarkCase.Source.GetBatch(order.AsSpan(start, count));
            samples += count;
        }
        return samples / clock.Elapsed.TotalSeconds;
    }

    sealed class StepClock(int warmUpSteps) : ITrainingObserver
    {
        readonly Stopwatch _clock = new();
        long _samples;

        public double SamplesPerSecond => _samples / _clock.Elapsed.TotalSeconds;

        public void IterationCompleted(IterationReport report)
        {
            if (report.Iteration == warmUpSteps) _clock.Start();
            else if (report.Iteration > warmUpSteps) _samples += report.BatchSize;
        }

        public void TrainingFinished(TrainingResult result) => _clock.Stop();
    }

    /// <summary>The recipe's data path as its Program.cs builds it, on the data it uses offline.</summary>
    static Case Build(string recipe, int mnistSamples, string master)
    {
        switch (recipe)
        {
            case "mnist":
            {
                // Generated digits (the recipe's offline data), normalised once into one float tensor of the whole set.
                var images = GeneratedDigits.Create(mnistSamples, seed: 1);
                var source = PixelNormalisation.Fit(images).ToBatchSource(images);
                return new Case(recipe, $"generated digits -> PixelNormalisation.ToBatchSource", "LeNet-5", 512, master, source,
                    () => new LeNet5(), p => optim.Adam(p, lr: 1e-3), (o, t) => nn.functional.cross_entropy(o, t), []);
            }
            case "ncf-explicit":
            {
                var ratings = GeneratedRatings();
                var (trainRows, _) = RatingSplits.Random(ratings.Count, testFraction: 0.2, seed: 1);
                var settings = NeuralCFSettings.NotebookExplicit(ratings.UserCount, ratings.ItemCount, ratings.Scale.ClassCount);
                return new Case(recipe, "generated ratings -> ToRatingBatchSource", "NeuralCF", 2800, master,
                    ratings.ToRatingBatchSource(trainRows), () => new NeuralCF(settings), p => optim.Adam(p, lr: 1e-3),
                    (o, t) => nn.functional.cross_entropy(o, t), []) { StepsFactor = 4 };
            }
            case "ncf-implicit":
            {
                var ratings = GeneratedRatings();
                var split = RatingSplits.LeaveLatestOut(ratings);
                var source = new ImplicitTrainingSource(ratings, split.TrainRows, new NegativeSampler(UserItemSets.From(ratings, split.TrainRows)),
                    ImplicitTrainingSource.PaperNegativesPerPositive, seed: 1);
                var settings = NeuralCFSettings.PaperNeuMF(ratings.UserCount, ratings.ItemCount);
                return new Case(recipe, "generated ratings -> ImplicitTrainingSource (4 negatives per positive drawn as batches are read)", "NeuMF", 256, master,
                    source, () => new NeuralCF(settings), p => optim.Adam(p, lr: 1e-3),
                    (o, t) => nn.functional.binary_cross_entropy_with_logits(o.squeeze(1), t), [source]) { StepsFactor = 5 };
            }
            case "anomaly":
            {
                // The real NAB series beside the repository, as the recipe's seed step reads it.
                string csv = Path.Combine("..", "shared", "data", "nyc-taxi", "nyc_taxi.csv");
                var data = AnomalySeriesDataSets.Resolve(csv, Path.GetTempPath(), offline: true, Path.GetTempPath(), TextWriter.Null);
                var features = DemandFeatures.ValueHourAwake(data.Series);
                var scaled = StandardScaler.Fit(features, Unroll.NotebookTrainingRowCount(data.Series.Count)).Transform(features);
                var (train, _) = Unroll.NotebookSplit(scaled, targetColumn: 0);
                int replicasBuilt = 0;
                return new Case(recipe, "nyc_taxi.csv -> features -> 50-step windows -> ToBatchSource", "LSTM", 1000, master,
                    train.ToBatchSource(), () => new LstmForecaster(features.ColumnCount, dropoutStream: 1000L + replicasBuilt++),
                    p => optim.RMSProp(p, lr: 1e-3, alpha: 0.9, eps: 1e-8), (o, t) => nn.functional.mse_loss(o, t), []) { StepsFactor = 0.5 };
            }
            default:
                throw new ArgumentException($"unknown recipe {recipe}");
        }
    }

    // The recipe's offline stand-in for its default release, ML-1M: the same users, movies and model sizes.
    static UserItemRatings GeneratedRatings()
    {
        var shape = MovieLensShape.OneMillion;
        var (ratings, movies) = MovieLensLikeRatings.Create(shape);
        return UserItemRatings.Create(ratings, movies, shape.Scale);
    }
}
