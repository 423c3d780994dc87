using System.Diagnostics;
using System.Globalization;
using Recipes.ObjectDetection;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Benchmarks;

/// <summary>
/// The object-detection recipe's SSD side by side with the same architecture written in PyTorch
/// (python/ssd_train.py). Training: forward, multibox loss (3:1 hard negatives), backward and an Adam step,
/// milliseconds per image; inference: forward in eval mode plus the post-processing (softmax, box decoding, per-class
/// NMS), images per second. Batch <see cref="Batch"/>, <see cref="ImageSize"/>-pixel inputs (the recipe's size: the
/// imported ResNet-18 needs multiples of 32), <see cref="ObjectClasses"/> classes, 1 and 2 libtorch threads. Both
/// sides time the very same random images and targets (2 or 3 fixed boxes per image, matched to the default boxes by
/// <see cref="SsdTargets"/>), which the .NET side writes to a file for the script. Every configuration starts from a
/// fresh network and optimizer, runs <see cref="WarmupSteps"/> untimed steps and reports the median of the timed ones.
/// </summary>
static class ObjectDetectionBenchmark
{
    const int Batch = 8;
    const int ImageSize = 320;
    const int ObjectClasses = 6;
    const int MaxObjects = 3;
    const int WarmupSteps = 2;
    const double LearningRate = 1e-3;
    const string OursName = "ours (TorchSharp)";
    const string PyTorchName = "PyTorch";

    sealed record Row(string Implementation, long Parameters, int Threads, double MillisecondsPerImage);

    public static int Run(string backboneName, int steps, string python)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), "at least one timed step per configuration");
        if (!DetectionBackbones.Names.Contains(backboneName))
            throw new ArgumentException($"unknown backbone '{backboneName}' (known: {string.Join(", ", DetectionBackbones.Names)})");
        AnsiConsole.MarkupLineInterpolated(
            $"object-detection: SSD over {backboneName}{(backboneName == DetectionBackbones.ResNet18 ? " (ImageNet weights, stem and layer1 frozen, batch norm frozen)" : " (random weights, batch norm learning)")}, {ObjectClasses} classes, {ImageSize}x{ImageSize}, batch {Batch}; {WarmupSteps} warm-up + {steps} timed steps per configuration (median); {Environment.ProcessorCount} cores");

        var training = new List<Row>();
        var inference = new List<Row>();
        string inputsFile = Path.Combine(Path.GetTempPath(), $"recipes-ssd-benchmark-{Environment.ProcessId}.f32");
        try
        {
            DefaultBoxes defaultBoxes;
            using (var probe = CreateNetwork(backboneName))
            {
                defaultBoxes = probe.DefaultBoxes;
                AnsiConsole.MarkupLineInterpolated($"{probe.Backbone.Description}; {defaultBoxes.Count:N0} default boxes; {ParameterCount(probe):N0} parameters, {TrainedParameterCount(probe):N0} trained");
            }
            using (var generator = new Generator().manual_seed(1))
            using (var images = rand([Batch, 3, ImageSize, ImageSize], generator: generator).mul_(255))
            using (var targets = Targets(defaultBoxes))
            {
                WriteInputs(inputsFile, defaultBoxes, targets, images);
                // Each configuration gets a fresh network and optimizer, so none inherits Adam's state or warm
                // caches from the one before (the pretrained weights load in well under a second).
                foreach (int threads in new[] { 1, 2 })
                {
                    var (trainingTime, parameters) = MeasureTraining(backboneName, images, targets, threads, steps);
                    training.Add(Report("training", new Row(OursName, parameters, threads, trainingTime)));
                    var (inferenceTime, _) = MeasureInference(backboneName, images, threads, steps);
                    inference.Add(Report("inference", new Row(OursName, parameters, threads, inferenceTime)));
                }
            }
            foreach (int threads in new[] { 1, 2 })
            {
                var jobs = MeasurePyTorch(python, inputsFile, defaultBoxes.Count, backboneName, threads, steps);
                if (jobs is null) break; // the reason is printed; the other thread count would fail the same way
                training.Add(Report("training", new Row(PyTorchName, jobs["train"].Parameters, threads, jobs["train"].MillisecondsPerImage)));
                inference.Add(Report("inference", new Row(PyTorchName, jobs["infer"].Parameters, threads, jobs["infer"].MillisecondsPerImage)));
            }
        }
        finally
        {
            File.Delete(inputsFile);
        }

        AnsiConsole.MarkupLine("[bold]Training step[/] (forward + multibox loss + backward + Adam step), ms per image; ratio = PyTorch's time over ours (above 1 = ours faster)");
        AnsiConsole.Write(Table(training, perSecond: false));
        AnsiConsole.MarkupLine("[bold]Inference[/] (eval mode, no gradients: forward + softmax, decoding, per-class NMS), images per second; ratio = ours over PyTorch's (above 1 = ours faster)");
        AnsiConsole.Write(Table(inference, perSecond: true));
        if (training.All(r => r.Implementation == OursName))
            AnsiConsole.MarkupLine("[yellow]PyTorch reference missing: only our figures above.[/]");
        AnsiConsole.MarkupLine("[grey]Our post-processing decodes and suppresses the images of a batch in parallel (.NET threads, whatever the libtorch thread count); PyTorch's runs them one after another.[/]");
        return 0;

        Row Report(string kind, Row row)
        {
            // Each figure as it comes: the whole run takes minutes.
            AnsiConsole.MarkupLineInterpolated($"[grey]  {kind}: {row.Implementation}, {row.Threads} thread(s): {row.MillisecondsPerImage:F1} ms/image, {1000 / row.MillisecondsPerImage:F2} images/s[/]");
            return row;
        }
    }

    static SsdNetwork CreateNetwork(string backboneName)
    {
        var backbone = DetectionBackbones.Create(backboneName, pretrained: true);
        if (backboneName == DetectionBackbones.ResNet18) backbone.FreezeUpTo("layer1"); // the recipe's default
        return new SsdNetwork(backbone, ObjectClasses, ImageSize);
    }

    static long ParameterCount(nn.Module model) => model.parameters().Sum(p => p.numel());

    static long TrainedParameterCount(nn.Module model) => model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    /// <summary>
    /// The fixed objects of each image (2 or 3, corners as fractions of the image, classes 0..5), matched to the
    /// network's default boxes: the target tensor [Batch, default boxes + MaxObjects, 6] the recipe's trainer feeds
    /// its loss. Fixed rather than random so that every run (and the script) sees the same positives, hence the
    /// same hard-negative count.
    /// </summary>
    static Tensor Targets(DefaultBoxes defaultBoxes)
    {
        var writer = new SsdTargets(defaultBoxes, MaxObjects);
        var values = new float[Batch * writer.ValuesPerImage];
        for (int image = 0; image < Batch; image++)
        {
            // A large object, a middle one, and on odd images a small one: spread over the maps' scales.
            float shift = 0.05f * image;
            var objects = new List<SsdTargets.ObjectTarget>
            {
                new(0.05f + shift / 2, 0.10f, 0.65f + shift / 2, 0.80f, image % ObjectClasses, false),
                new(0.50f, 0.45f - shift / 4, 0.85f, 0.75f - shift / 4, (image + 2) % ObjectClasses, false),
            };
            if (image % 2 == 1) objects.Add(new(0.20f, 0.70f, 0.32f, 0.84f, (image + 4) % ObjectClasses, false));
            writer.Write(objects, values.AsSpan(image * writer.ValuesPerImage, writer.ValuesPerImage));
        }
        return tensor(values, [Batch, writer.Rows, SsdTargets.Width]);
    }

    /// <summary>The script's inputs, float32 little-endian without a header: default boxes [P, 4], the default-box
    /// rows of the targets [B, P, 6], the images [B, 3, S, S].</summary>
    static void WriteInputs(string path, DefaultBoxes defaultBoxes, Tensor targets, Tensor images)
    {
        int priors = defaultBoxes.Count;
        using var stream = File.Create(path);
        void Write(ReadOnlySpan<float> values)
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the script reads little-endian floats");
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        }
        Write(defaultBoxes.CentreForm);
        using (var boxRows = targets[.., ..priors, ..].contiguous())
            Write(boxRows.data<float>().ToArray());
        using (var pixels = images.contiguous())
            Write(pixels.data<float>().ToArray());
    }

    /// <summary>Median ms per image of a training step, and the network's parameter count.</summary>
    static (double MillisecondsPerImage, long Parameters) MeasureTraining(string backboneName, Tensor images, Tensor targets, int threads, int steps)
    {
        torch.set_num_threads(threads);
        using var network = CreateNetwork(backboneName);
        network.train();
        var loss = MultiBoxLoss.Create(network.DefaultBoxes.Count);
        // As the recipe's trainer: only what is not frozen, a weight decay of 5e-4 times the rate. A list, not the lazy
        // Where: Adam walks its parameter group on every step, which would walk the module tree again each time.
        using var optimizer = optim.Adam(network.parameters().Where(p => p.requires_grad).ToList(), LearningRate, weight_decay: 5e-4 * LearningRate);
        return (Median(steps, () =>
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            loss(network.forward(images), targets).backward();
            optimizer.step();
        }), ParameterCount(network));
    }

    /// <summary>Median ms per image of forward + post-processing, and the network's parameter count.</summary>
    static (double MillisecondsPerImage, long Parameters) MeasureInference(string backboneName, Tensor images, int threads, int steps)
    {
        torch.set_num_threads(threads);
        using var network = CreateNetwork(backboneName);
        network.eval();
        var postProcessing = new SsdPostProcessing();
        using var noGradients = torch.no_grad();
        return (Median(steps, () =>
        {
            using var scope = torch.NewDisposeScope();
            postProcessing.Detect(network.forward(images), network.DefaultBoxes);
        }), ParameterCount(network));
    }

    /// <summary>Median milliseconds per image of the timed steps, after the warm-up ones.</summary>
    static double Median(int steps, Action step)
    {
        for (int i = 0; i < WarmupSteps; i++) step();
        var perImage = new List<double>();
        for (int i = 0; i < steps; i++)
        {
            var clock = Stopwatch.StartNew();
            step();
            perImage.Add(clock.Elapsed.TotalMilliseconds / Batch);
        }
        perImage.Sort();
        return perImage[perImage.Count / 2];
    }

    static Table Table(List<Row> rows, bool perSecond)
    {
        var table = new Table().AddColumns("threads", $"ours{(perSecond ? ", images / s" : ", ms / image")}", $"PyTorch{(perSecond ? ", images / s" : ", ms / image")}", "ratio", "parameters (ours / PyTorch)");
        foreach (int threads in rows.Select(r => r.Threads).Distinct().Order())
        {
            var ours = rows.FirstOrDefault(r => r.Threads == threads && r.Implementation == OursName);
            var reference = rows.FirstOrDefault(r => r.Threads == threads && r.Implementation == PyTorchName);
            string Figure(Row? row) => row is null ? "-" : Show(perSecond ? 1000 / row.MillisecondsPerImage : row.MillisecondsPerImage, perSecond ? "F2" : "F1");
            // Either way the ratio is how many times faster ours is.
            string ratio = ours is null || reference is null ? "-" : Show(reference.MillisecondsPerImage / ours.MillisecondsPerImage, "F2");
            string parameters = $"{(ours is null ? "-" : ours.Parameters.ToString("N0", CultureInfo.InvariantCulture))} / {(reference is null ? "-" : reference.Parameters.ToString("N0", CultureInfo.InvariantCulture))}";
            table.AddRow(threads.ToString(CultureInfo.InvariantCulture), Figure(ours), Figure(reference), ratio, parameters);
        }
        return table;
    }

    static string Show(double value, string format) => ImagePipelineBenchmark.Show(value, format);

    /// <summary>Runs ssd_train.py for both jobs at one thread count; the figures per job, or null (with the reason printed).</summary>
    static Dictionary<string, (double MillisecondsPerImage, long Parameters)>? MeasurePyTorch(string python, string inputsFile, int defaultBoxes, string backboneName, int threads, int steps)
    {
        string[] arguments = [inputsFile, .. new[] { Batch, ImageSize, defaultBoxes, ObjectClasses }.Select(Invariant), backboneName, Invariant(threads), Invariant(WarmupSteps), Invariant(steps), "train", "infer"];
        var lines = PythonReference.Run(python, "ssd_train.py", arguments, "PyTorch reference", "python3-torch python3-torchvision");
        return lines?.Select(line => line.Split(' '))
            .ToDictionary(figures => figures[0], figures => (double.Parse(figures[1], CultureInfo.InvariantCulture), long.Parse(figures[2], CultureInfo.InvariantCulture)));

        static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
