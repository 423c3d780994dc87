using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Recipes.Mnist;
using Recipes.ObjectDetection;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Models.Onnx;
using Recipes.TransferLearning;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Benchmarks;

/// <summary>
/// ONNX export: how long each recipe model takes to export (graph built from the TorchSharp modules, then written
/// atomically), and the ImageNet ResNet-18 transfer classifier's forward pass at batch 1 with 2 threads, ONNX
/// Runtime on the exported file next to the TorchSharp network it came from, in the same run. Inputs are random
/// 224x224 RGB images; each backend runs warm-up passes first and reports the median of the timed ones.
/// </summary>
static class OnnxExportBenchmark
{
    public static void Run(int images, int threads)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"onnx-export-benchmark-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            AnsiConsole.MarkupLine($"ONNX export (opset {OnnxGraphBuilder.OpsetVersion}), {Environment.ProcessorCount} cores");
            var exports = new Table().AddColumns("model", "export ms", "file MB");
            using var generator = new Generator().manual_seed(1);

            using (var lenet = new LeNet5())
                exports.AddRow(Export("LeNet-5", Path.Combine(folder, "lenet5.onnx"), () => lenet.ToOnnx()));

            using (var ssd = new SsdNetwork(DetectionBackbones.Create(DetectionBackbones.ResNet18, pretrained: true), 20, 320))
            {
                ssd.eval();
                exports.AddRow(Export("SSD320 ResNet-18", Path.Combine(folder, "ssd.onnx"), () => ssd.ToOnnx()));
            }

            using var transfer = new ImageNetTransfer(BackboneTraining.FineTuneTorchSharp, classCount: 2, freezeUpTo: "layer3");
            using var trained = transfer.CreateTrainable();
            using var classifier = transfer.CreateClassifier(trained);
            classifier.eval();
            using var preprocessing = ImageNetResNet18.LoadPreprocessing();
            string transferPath = Path.Combine(folder, "transfer.onnx");
            exports.AddRow(Export("transfer-learning ResNet-18 classifier", transferPath, () => ImageNetTransferOnnx.ToOnnx(classifier, preprocessing, 2)));
            AnsiConsole.Write(exports);

            using var inputs = rand([1, 3, 224, 224], generator: generator) * 255;
            float[] pixels = inputs.data<float>().ToArray();
            using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
            using var session = new InferenceSession(transferPath, options);
            var onnxInput = new DenseTensor<float>(pixels, [1, 3, 224, 224]);
            double onnxMs = Measure(images, () =>
            {
                using var results = session.Run([NamedOnnxValue.CreateFromTensor("images", onnxInput)]);
                _ = results.First(r => r.Name == "logits").AsTensor<float>()[0, 0];
            });

            torch.set_num_threads(threads);
            double torchMs = Measure(images, () =>
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                _ = classifier.forward(preprocessing.Apply(inputs)).softmax(1).data<float>()[0];
            });

            var speed = new Table().AddColumns("transfer classifier, batch 1", "threads", "ms / image", "images / s");
            foreach (var (backend, ms) in new[] { ("ONNX Runtime (exported file)", onnxMs), ("TorchSharp (same network)", torchMs) })
                speed.AddRow(backend, threads.ToString(CultureInfo.InvariantCulture), ms.ToString("F1", CultureInfo.InvariantCulture), (1000 / ms).ToString("F1", CultureInfo.InvariantCulture));
            AnsiConsole.Write(speed);
            AnsiConsole.MarkupLine($"{images} timed images per backend (median), after 5 warm-up passes; ONNX Runtime / TorchSharp time ratio {onnxMs / torchMs:F2}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    static string[] Export(string model, string path, Func<ModelProto> build)
    {
        var clock = Stopwatch.StartNew();
        OnnxExport.Save(path, build());
        double ms = clock.Elapsed.TotalMilliseconds;
        return [model, ms.ToString("F0", CultureInfo.InvariantCulture), (new FileInfo(path).Length / 1e6).ToString("F1", CultureInfo.InvariantCulture)];
    }

    static double Measure(int images, Action forward)
    {
        for (int i = 0; i < 5; i++) forward();
        var times = new List<double>();
        for (int i = 0; i < images; i++)
        {
            var clock = Stopwatch.StartNew();
            forward();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }
}
