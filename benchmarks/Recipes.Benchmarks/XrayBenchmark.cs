using System.Diagnostics;
using System.Globalization;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.ResNet;
using Recipes.Runtime.Vision;
using Spectre.Console;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Benchmarks;

/// <summary>
/// The xray recipe's two costs side by side. Training: a ResNet-18 + Dropout(0.2) + Linear(512, 14) step (binary
/// cross-entropy with logits on random 0/1 targets, Adam 1e-4, random 3x224x224 inputs), milliseconds per image at
/// batch 8 and 32 with 1 and 2 libtorch threads: the runtime's imported ImageNet network (2,2,2,3 blocks), the
/// same batch of 32 as 4 accumulated micro-batches of 8, a textbook 2,2,2,2 network built by the runtime, and
/// torchvision's resnet18 in PyTorch (Debian's python3-torch); then forward-only at batch 8. Every configuration
/// starts from fresh optimizer state, runs <see cref="WarmupSteps"/> untimed steps and reports the median of the
/// timed ones. Input: images/s of the runtime's image pipeline on the NIH chest X-rays (1024x1024 grey PNGs:
/// decode, resize 256, center crop 224, normalise into 3x224x224 floats) with 1 and 2 workers next to PIL +
/// numpy, and how that compares with the training speed, to tell whether training would wait for its images.
/// </summary>
static class XrayBenchmark
{
    const int Findings = 14;
    const int WarmupSteps = 2;
    const int SmallBatch = 8;
    const int LargeBatch = 32;
    const int MicroBatches = LargeBatch / SmallBatch;
    const string ImportedName = "ours, imported (2,2,2,3)";
    const string TextbookName = "ours, textbook (2,2,2,2)";
    const string PyTorchName = "PyTorch, torchvision (2,2,2,2)";

    /// <summary>One timed configuration; <paramref name="Batch"/> is the batch as printed ("32 as 4 x 8").</summary>
    sealed record Row(string Network, long Parameters, int Images, string Batch, int Threads, double MillisecondsPerImage);

    public static int Run(string folder, int steps, double seconds, string python)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), "at least one timed step per configuration");
        // Before the long training part, so a wrong --folder fails at once.
        var images = ImageSet.FromFolder(folder);
        AnsiConsole.MarkupLineInterpolated(
            $"xray: ResNet-18 + Dropout(0.2) + Linear(512, {Findings}), BCE with logits, Adam 1e-4, 3x224x224; {WarmupSteps} warm-up + {steps} timed steps per configuration (median); {Environment.ProcessorCount} cores");
        AnsiConsole.MarkupLine("imported = the runtime's ImageNet ResNet-18 (2,2,2,3 blocks); textbook = ResNetBackbone.Build of a 2,2,2,2 layout (random weights); PyTorch = torchvision resnet18");

        using var generator = new Generator().manual_seed(1);
        using var inputs = randn([LargeBatch, 3, 224, 224], generator: generator);
        using var targets = rand([LargeBatch, Findings], generator: generator).lt(0.5).to(ScalarType.Float32);
        var training = new List<Row>();
        var inference = new List<Row>();
        // Each figure is printed as it comes, since the whole run takes minutes.
        void Add(List<Row> rows, Row row)
        {
            rows.Add(row);
            string kind = ReferenceEquals(rows, inference) ? "forward" : "training";
            AnsiConsole.MarkupLineInterpolated($"[grey]  {kind}: {row.Network}, batch {row.Batch}, {row.Threads} thread(s): {Show(row.MillisecondsPerImage, "F1")} ms/image[/]");
        }

        using (var imported = Classifier(ImageNetResNet18.LoadBackbone()))
        {
            long parameters = ParameterCount(imported);
            foreach (int threads in new[] { 1, 2 })
            {
                foreach (int batch in new[] { SmallBatch, LargeBatch })
                    Add(training, new Row(ImportedName, parameters, batch, $"{batch}", threads, MeasureTraining(imported, inputs, targets, batch, 1, threads, steps)));
                Add(training, new Row(ImportedName, parameters, LargeBatch, $"{LargeBatch} as {MicroBatches} x {SmallBatch}", threads,
                    MeasureTraining(imported, inputs, targets, LargeBatch, MicroBatches, threads, steps)));
                Add(inference, new Row(ImportedName, parameters, SmallBatch, $"{SmallBatch}", threads, MeasureInference(imported, inputs, SmallBatch, threads, steps)));
            }
        }
        // Like for like with torchvision: the same network shape, built by the runtime (random weights; speed
        // does not depend on them). Two threads only, to keep the run short.
        using (var textbook = Classifier(ResNetBackbone.Build(ResNetLayout.Create([2, 2, 2, 2], [64, 128, 256, 512]))))
        {
            long parameters = ParameterCount(textbook);
            foreach (int batch in new[] { SmallBatch, LargeBatch })
                Add(training, new Row(TextbookName, parameters, batch, $"{batch}", 2, MeasureTraining(textbook, inputs, targets, batch, 1, 2, steps)));
            Add(inference, new Row(TextbookName, parameters, SmallBatch, $"{SmallBatch}", 2, MeasureInference(textbook, inputs, SmallBatch, 2, steps)));
        }
        foreach (int threads in new[] { 1, 2 })
        {
            var jobs = MeasurePyTorch(python, threads, steps, [$"train:{SmallBatch}", $"train:{LargeBatch}", $"infer:{SmallBatch}"]);
            if (jobs is null) break; // the reason is printed; the other thread count would fail the same way
            foreach (int batch in new[] { SmallBatch, LargeBatch })
                Add(training, new Row(PyTorchName, jobs[$"train:{batch}"].Parameters, batch, $"{batch}", threads, jobs[$"train:{batch}"].MillisecondsPerImage));
            Add(inference, new Row(PyTorchName, jobs[$"infer:{SmallBatch}"].Parameters, SmallBatch, $"{SmallBatch}", threads, jobs[$"infer:{SmallBatch}"].MillisecondsPerImage));
        }

        AnsiConsole.MarkupLine("[bold]Training step[/] (speed vs PyTorch: PyTorch's ms/image at the same number of images and threads divided by ours; above 1 = ours faster)");
        AnsiConsole.Write(TimingTable(training));
        AnsiConsole.MarkupLine($"[bold]Forward only[/] (eval mode, no gradients), batch {SmallBatch}");
        AnsiConsole.Write(TimingTable(inference));

        var oursTwoThreads = training.Where(r => r.Threads == 2 && r.Network == ImportedName).MinBy(r => r.MillisecondsPerImage)!;
        MeasurePipeline(images, folder, seconds, python, oursTwoThreads);
        return 0;
    }

    static Sequential Classifier(Sequential backbone) =>
        nn.Sequential(("backbone", backbone), ("dropout", nn.Dropout(0.2)), ("head", nn.Linear(ImageNetResNet18.FeatureLength, Findings)));

    static long ParameterCount(nn.Module model) => model.parameters().Sum(p => p.numel());

    /// <summary>
    /// Median ms per image of a training step on the first <paramref name="batch"/> inputs; with micro-batches the
    /// gradients of equal slices, each loss divided by their count, add up to the whole batch's before one step.
    /// </summary>
    static double MeasureTraining(Sequential model, Tensor inputs, Tensor targets, int batch, int microBatches, int threads, int steps)
    {
        torch.set_num_threads(threads);
        model.train();
        using var optimizer = optim.Adam(model.parameters(), lr: 1e-4);
        int slice = batch / microBatches;
        return Median(steps, batch, () =>
        {
            optimizer.zero_grad();
            for (int m = 0; m < microBatches; m++)
            {
                using var scope = torch.NewDisposeScope();
                var logits = model.forward(inputs.narrow(0, m * slice, slice));
                var loss = nn.functional.binary_cross_entropy_with_logits(logits, targets.narrow(0, m * slice, slice)) / microBatches;
                loss.backward();
            }
            optimizer.step();
        });
    }

    static double MeasureInference(Sequential model, Tensor inputs, int batch, int threads, int steps)
    {
        torch.set_num_threads(threads);
        model.eval();
        using var noGradients = torch.no_grad();
        return Median(steps, batch, () =>
        {
            using var scope = torch.NewDisposeScope();
            model.forward(inputs.narrow(0, 0, batch));
        });
    }

    static double Median(int steps, int imagesPerStep, Action step)
    {
        for (int i = 0; i < WarmupSteps; i++) step();
        var perImage = new List<double>();
        for (int i = 0; i < steps; i++)
        {
            var clock = Stopwatch.StartNew();
            step();
            perImage.Add(clock.Elapsed.TotalMilliseconds / imagesPerStep);
        }
        perImage.Sort();
        return perImage[perImage.Count / 2];
    }

    static Table TimingTable(List<Row> rows)
    {
        var table = new Table().AddColumns("network", "parameters", "batch", "threads", "ms / image", "images / s", "speed vs PyTorch");
        foreach (var row in rows)
        {
            var reference = rows.FirstOrDefault(r => r.Network == PyTorchName && r.Images == row.Images && r.Threads == row.Threads);
            string versus = reference is null || row.Network == PyTorchName ? "-" : Show(reference.MillisecondsPerImage / row.MillisecondsPerImage, "F2");
            table.AddRow(Markup.Escape(row.Network), row.Parameters.ToString("N0", CultureInfo.InvariantCulture), Markup.Escape(row.Batch),
                row.Threads.ToString(CultureInfo.InvariantCulture), Show(row.MillisecondsPerImage, "F1"), Show(1000 / row.MillisecondsPerImage, "F1"), versus);
        }
        return table;
    }

    /// <summary>
    /// The image pipeline on the chest X-rays (the images benchmark's measurement: ImageSharp + runtime ops with
    /// the prefetching loader, and the same steps in PIL + numpy), then each rate over our fastest training rate.
    /// </summary>
    static void MeasurePipeline(ImageSet images, string folder, double seconds, string python, Row training)
    {
        AnsiConsole.MarkupLineInterpolated(
            $"[bold]Input pipeline[/]: {images.Count} images under {folder}; decode, resize 256, center crop 224, normalise into 3x224x224 floats; {seconds:0.#} s per configuration");
        var rows = new List<(string Name, ImagePipelineBenchmark.Measurement Result)>();
        foreach (int workers in new[] { 1, 2 })
            rows.Add(($"ours: ImageSharp + runtime ops, {workers} worker{(workers == 1 ? "" : "s")}", ImagePipelineBenchmark.MeasureOurs(images, workers, seconds)));
        foreach (int workers in new[] { 1, 2 })
            rows.Add(($"PIL + numpy, {workers} thread{(workers == 1 ? "" : "s")}", ImagePipelineBenchmark.MeasurePython(python, folder, workers, "thread", seconds)));

        double trainingRate = 1000 / training.MillisecondsPerImage;
        var table = new Table().AddColumns("configuration", "images / s", "CPU ms / image", "images / s over training images / s");
        foreach (var (name, result) in rows)
            table.AddRow(Markup.Escape(name), ImagePipelineBenchmark.Show(result.ImagesPerSecond, "N1"), ImagePipelineBenchmark.Show(result.CpuMillisecondsPerImage, "F2"),
                ImagePipelineBenchmark.Show(result.ImagesPerSecond / trainingRate, "F1"));
        AnsiConsole.Write(table);

        // Images/s alone flatters the pipeline: on a real run its workers take their CPU from the training threads.
        var oursOneWorker = rows[0].Result;
        var oursTwoWorkers = rows[1].Result;
        double trainingCpuPerImage = training.MillisecondsPerImage * training.Threads;
        AnsiConsole.MarkupLineInterpolated(
            $"Training (the fastest of ours at 2 threads: {training.Network}, batch {training.Batch}) consumes {Show(trainingRate, "F1")} images/s; the pipeline with 2 workers delivers {Show(oursTwoWorkers.ImagesPerSecond / trainingRate, "F1")} times that, so training {(oursTwoWorkers.ImagesPerSecond >= trainingRate ? "would not" : "would")} wait for its images.");
        AnsiConsole.MarkupLineInterpolated(
            $"Sharing the cores: decoding costs {Show(oursOneWorker.CpuMillisecondsPerImage, "F1")} CPU ms per image, {Show(100 * oursOneWorker.CpuMillisecondsPerImage / trainingCpuPerImage, "F1")}% of training's {Show(trainingCpuPerImage, "F0")} CPU ms per image (ms/image x threads), about what training slows down by when both run on the same cores.");
    }

    static string Show(double value, string format) => ImagePipelineBenchmark.Show(value, format);

    /// <summary>Runs xray_train.py; the figures per job, or null (with the reason printed) when the reference cannot run.</summary>
    static Dictionary<string, (double MillisecondsPerImage, long Parameters)>? MeasurePyTorch(string python, int threads, int steps, string[] jobs)
    {
        var lines = PythonReference.Run(python, "xray_train.py",
            [threads.ToString(CultureInfo.InvariantCulture), WarmupSteps.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture), .. jobs],
            "PyTorch reference", "python3-torch python3-torchvision");
        return lines?.Select(line => line.Split(' '))
            .ToDictionary(figures => figures[0], figures => (double.Parse(figures[1], CultureInfo.InvariantCulture), long.Parse(figures[2], CultureInfo.InvariantCulture)));
    }
}
