using System.Diagnostics;
using System.Globalization;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Serving;
using Spectre.Console;
using static TorchSharp.torch;

namespace Recipes.Benchmarks;

/// <summary>
/// The inference core under load, in process (no HTTP): the ImageNet ResNet-18 behind an <see cref="InferenceModel"/>,
/// callers sending one 224x224 image per request back to back at concurrency 1, 8 and 32. Side by side in one run:
/// one copy without batching (the baseline), one single-threaded copy per core, one copy with dynamic batching; each on
/// the imported TorchSharp network and on ONNX Runtime. Every cell is bounded in requests and in time; images/s counts
/// completed requests over the cell's wall time; latency is from the call to the answer (queueing included).
/// </summary>
static class ServingCoreBenchmark
{
    sealed record Configuration(string Name, int Copies, int ThreadsPerCopy, int MaxBatch, TimeSpan MaxDelay);

    sealed record Cell(string Backend, string Configuration, int Concurrency, int Completed, int Errors, double Seconds, double[] LatenciesMs, double MeanBatchRows);

    static readonly int[] Concurrencies = [1, 8, 32];

    public static int Run(int requestsPerCell, double secondsPerCell)
    {
        int cores = Environment.ProcessorCount;
        string loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        AnsiConsole.MarkupLine($"Inference core, ImageNet ResNet-18 (224x224 -> 512 features), {cores} cores, up to {requestsPerCell} requests or {secondsPerCell} s per cell; load average before: {loadBefore}");
        AnsiConsole.MarkupLine($"InferenceOptions.DefaultCopies() here = {InferenceOptions.DefaultCopies()}");
        var configurations = new[]
        {
            new Configuration("1 copy, no batching", 1, cores, 1, TimeSpan.Zero),
            new Configuration($"{cores} copies x 1 thread, no batching", cores, 1, 1, TimeSpan.Zero),
            new Configuration("1 copy, dynamic batching (max 32, 2 ms)", 1, cores, 32, TimeSpan.FromMilliseconds(2)),
        };

        var images = RandomImages(32);
        var cells = new List<Cell>();
        long residentBefore = ResidentBytes();
        foreach (string backend in new[] { "TorchSharp", "ONNX Runtime" })
            foreach (var configuration in configurations)
            {
                var loading = Stopwatch.StartNew();
                using var model = new InferenceModel(copy => CreateCopy(backend, configuration.ThreadsPerCopy),
                    new InferenceOptions(configuration.Copies, configuration.MaxBatch, configuration.MaxDelay));
                AnsiConsole.MarkupLine($"  {backend}, {Markup.Escape(configuration.Name)}: loaded and warmed up in {loading.Elapsed.TotalSeconds:F1} s");
                foreach (int concurrency in Concurrencies)
                {
                    var cell = Measure(model, images, concurrency, requestsPerCell, TimeSpan.FromSeconds(secondsPerCell)) with { Backend = backend, Configuration = configuration.Name };
                    cells.Add(cell);
                    AnsiConsole.MarkupLine($"    concurrency {concurrency}: {cell.Completed / cell.Seconds:F1} images/s");
                }
            }
        long residentAfter = ResidentBytes();

        var table = new Table().AddColumns("backend", "configuration", "concurrency", "requests", "errors", "images/s", "p50 ms", "p95 ms", "p99 ms", "rows/forward");
        foreach (var cell in cells)
        {
            Array.Sort(cell.LatenciesMs);
            table.AddRow(cell.Backend, Markup.Escape(cell.Configuration), Text(cell.Concurrency), Text(cell.Completed), Text(cell.Errors),
                Text(cell.Completed / cell.Seconds, "F1"), Text(Percentile(cell.LatenciesMs, 0.50), "F1"), Text(Percentile(cell.LatenciesMs, 0.95), "F1"),
                Text(Percentile(cell.LatenciesMs, 0.99), "F1"), Text(cell.MeanBatchRows, "F1"));
        }
        AnsiConsole.Write(table);
        string loadAfter = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        AnsiConsole.MarkupLine($"Load average after: {loadAfter}. Process resident memory {residentBefore / 1048576.0:F0} MB before the cells, {residentAfter / 1048576.0:F0} MB after (models disposed).");
        return cells.Sum(c => c.Errors) == 0 ? 0 : 1;
    }

    static IInferenceBackend CreateCopy(string backend, int threads)
    {
        if (backend == "ONNX Runtime")
            return new OnnxRuntimeBackend(DnnImageModelFiles.ResNet18, "resnet18", "1", threads);
        var signature = new ModelSignature("resnet18", "1", "torchsharp",
            [new TensorSpec("Input247", TensorDatatype.FP32, [-1, 3, ImageNetResNet18.ImageSize, ImageNetResNet18.ImageSize])],
            [new TensorSpec("Pooling395_Output_0", TensorDatatype.FP32, [-1, ImageNetResNet18.FeatureLength, 1, 1])]);
        var network = ImageNetResNet18.LoadBackbone();
        return new TorchSharpBackend(signature, inputs => [network.forward(inputs[0]).reshape(-1, ImageNetResNet18.FeatureLength, 1, 1)], network, threads);
    }

    /// <summary>Seeded random preprocessed images (the scale of ImageNet inputs after mean subtraction), one request each.</summary>
    static NamedTensor[] RandomImages(int count)
    {
        using var generator = new Generator().manual_seed(1);
        using var scope = NewDisposeScope();
        var all = (randn([count, 3, 224, 224], generator: generator) * 60).contiguous();
        return Enumerable.Range(0, count)
            .Select(i => new NamedTensor("Input247", [1, 3, 224, 224], Floats: all[i].data<float>().ToArray())).ToArray();
    }

    static Cell Measure(InferenceModel model, NamedTensor[] images, int concurrency, int requests, TimeSpan budget)
    {
        // Untimed: one request per caller, so the first timed ones do not pay for the callers' own start-up.
        Task.WaitAll(Enumerable.Range(0, concurrency).Select(i => model.InferAsync([images[i % images.Length]])).ToArray());

        long forwards = 0, rows = 0;
        void Count(int batchRows, TimeSpan _) { Interlocked.Increment(ref forwards); Interlocked.Add(ref rows, batchRows); }
        model.BatchRan += Count;
        var latencies = new double[requests];
        int next = -1, completed = 0, errors = 0;
        var clock = Stopwatch.StartNew();
        var callers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                int index = Interlocked.Increment(ref next);
                if (index >= requests || clock.Elapsed > budget) return;
                long started = Stopwatch.GetTimestamp();
                try
                {
                    var outputs = await model.InferAsync([images[index % images.Length]]);
                    if (outputs[0].ElementCount != ImageNetResNet18.FeatureLength) throw new InvalidOperationException("wrong output size");
                    latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    Interlocked.Increment(ref completed);
                }
                catch (Exception)
                {
                    latencies[index] = double.NaN;
                    Interlocked.Increment(ref errors);
                }
            }
        })).ToArray();
        Task.WaitAll(callers);
        double seconds = clock.Elapsed.TotalSeconds;
        model.BatchRan -= Count;
        var measured = latencies.Take(Math.Min(requests, next)).Where(l => l > 0).ToArray();
        return new Cell("", "", concurrency, completed, errors, seconds, measured, forwards == 0 ? 0 : (double)rows / forwards);
    }

    static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];

    static long ResidentBytes()
    {
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    static string Text(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
    static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
