using System.Diagnostics;
using System.Globalization;
using Recipes.Runtime.Models.ImageNet;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Benchmarks;

/// <summary>
/// ImageNet ResNet-18 forward pass, milliseconds per image: ONNX Runtime on the original model (batch 1 as
/// shipped, and batch 32 with the batch dimension made symbolic) next to the imported TorchSharp network
/// (batch 1 and 32), each with 1 and 2 intra-op threads. Inputs are random preprocessed 224x224 images;
/// every configuration runs a warm-up batch first and reports the median of the timed batches.
/// </summary>
static class ResNetInferenceBenchmark
{
    public static void Run(int images)
    {
        AnsiConsole.MarkupLine($"ImageNet ResNet-18 forward, 224x224, {images} timed images per configuration, {Environment.ProcessorCount} cores");
        using var generator = new Generator().manual_seed(1);
        using var inputs = randn([32, 3, 224, 224], generator: generator) * 60;
        var rows = new List<(string Backend, int Batch, int Threads, double MillisecondsPerImage)>();

        foreach (int threads in new[] { 1, 2 })
            foreach (int batch in new[] { 1, 32 })
            {
                using var session = new OnnxImageModelSession(DnnImageModelFiles.ResNet18, intraOpThreads: threads, batchSize: batch);
                rows.Add(("ONNX Runtime" + (batch > 1 ? " (batch made symbolic)" : ""), batch, threads, Measure(session, inputs, batch, images)));
            }

        using (var backbone = ImageNetResNet18.LoadBackbone())
        using (var network = new TorchFeatureExtractor(backbone, ImageNetResNet18.FeatureLength, batchSize: 32, ownsNetwork: false))
            foreach (int threads in new[] { 1, 2 })
                foreach (int batch in new[] { 1, 32 })
                {
                    torch.set_num_threads(threads);
                    rows.Add(("TorchSharp (imported)", batch, threads, Measure(network, inputs, batch, images)));
                }

        var table = new Table().AddColumns("backend", "batch", "threads", "ms / image", "images / s");
        foreach (var (backend, batch, threads, ms) in rows)
            table.AddRow(Markup.Escape(backend), batch.ToString(CultureInfo.InvariantCulture), threads.ToString(CultureInfo.InvariantCulture),
                ms.ToString("F1", CultureInfo.InvariantCulture), (1000 / ms).ToString("F1", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
    }

    static double Measure(IImageFeatureExtractor extractor, Tensor inputs, int batch, int images)
    {
        using var input = inputs.narrow(0, 0, batch);
        using (extractor.Extract(input)) { }
        int repetitions = Math.Max(2, (images + batch - 1) / batch);
        var perImage = new List<double>();
        for (int i = 0; i < repetitions; i++)
        {
            var clock = Stopwatch.StartNew();
            using (extractor.Extract(input)) { }
            perImage.Add(clock.Elapsed.TotalMilliseconds / batch);
        }
        perImage.Sort();
        return perImage[perImage.Count / 2];
    }
}
