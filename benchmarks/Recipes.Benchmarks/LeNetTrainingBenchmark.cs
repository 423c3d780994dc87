using System.Globalization;
using Recipes.Mnist;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace Recipes.Benchmarks;

/// <summary>
/// LeNet-5 training throughput at batch 512 (Adam, cross-entropy, random 28x28 inputs): our runtime as
/// local[1] with 2 intra-op threads and local[2] with 1 each, next to PyTorch (Debian's python3-torch) with
/// the same model, batch and threads. Also prints process memory per epoch, which must stay flat.
/// </summary>
static class LeNetTrainingBenchmark
{
    const int Batch = 512;

    public static void Run(int epochs, int samplesPerEpoch, string python)
    {
        int cores = Environment.ProcessorCount;
        AnsiConsole.MarkupLine($"LeNet-5 training, global batch {Batch}, {samplesPerEpoch:N0} samples/epoch, {epochs} epochs, {cores} cores");
        var rows = new List<(string Name, double SamplesPerSecond, string Memory)>();
        foreach (string master in new[] { "local[1]", "local[2]" })
        {
            var (rate, memory) = MeasureOurs(LocalMaster.Parse(master, cores), epochs, samplesPerEpoch);
            rows.Add(($"TorchSharp {LocalMaster.Parse(master, cores)}", rate, memory));
        }
        int steps = Math.Max(10, epochs * samplesPerEpoch / Batch);
        foreach (int threads in new[] { cores, 1 })
        {
            double? rate = MeasurePyTorch(python, threads, steps);
            rows.Add(($"PyTorch ({threads} intra-op thread{(threads == 1 ? "" : "s")})", rate ?? double.NaN, rate is null ? "python3-torch missing" : ""));
        }

        double pytorchBest = rows.Where(r => r.Name.StartsWith("PyTorch", StringComparison.Ordinal)).Max(r => r.SamplesPerSecond);
        var table = new Table().AddColumns("configuration", "samples/s", "vs best PyTorch", "memory per epoch (MB)");
        foreach (var (name, rate, memory) in rows)
            table.AddRow(Markup.Escape(name), double.IsNaN(rate) ? "-" : rate.ToString("N0", CultureInfo.InvariantCulture),
                double.IsNaN(rate) || double.IsNaN(pytorchBest) ? "-" : (rate / pytorchBest).ToString("F2", CultureInfo.InvariantCulture), Markup.Escape(memory));
        AnsiConsole.Write(table);
    }

    static (double SamplesPerSecond, string Memory) MeasureOurs(LocalMaster master, int epochs, int samples)
    {
        using var generator = new Generator().manual_seed(1);
        using var data = new InMemoryBatchSource(randn([samples, 1, 28, 28], generator: generator), randint(0, 10, [samples], generator: generator));
        using var trainer = new Trainer(() => new LeNet5(), p => optim.Adam(p, lr: 1e-3),
            (output, target) => nn.functional.cross_entropy(output, target),
            new TrainerSettings { GlobalBatchSize = Batch, Epochs = epochs, Seed = 1, Master = master });
        var result = trainer.Fit(data);
        // The first epoch includes warm-up (allocator, JIT); report the steady state.
        var steady = result.Epochs.Skip(1).Select(e => e.SamplesPerSecond).Order().ToArray();
        double median = steady.Length == 0 ? result.Epochs[0].SamplesPerSecond : steady[steady.Length / 2];
        return (median, string.Join(" ", result.Epochs.Select(e => e.ProcessMemoryMegabytes.ToString("F0", CultureInfo.InvariantCulture))));
    }

    static double? MeasurePyTorch(string python, int threads, int steps)
    {
        var lines = PythonReference.Run(python, "lenet_train.py",
            [threads.ToString(CultureInfo.InvariantCulture), Batch.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture)],
            "PyTorch reference", "python3-torch");
        return lines is null ? null : double.Parse(lines[^1], CultureInfo.InvariantCulture);
    }
}
