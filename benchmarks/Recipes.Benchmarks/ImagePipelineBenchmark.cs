using System.Diagnostics;
using System.Globalization;
using Recipes.Runtime.Vision;
using Spectre.Console;

namespace Recipes.Benchmarks;

/// <summary>
/// Images per second through the classic ImageNet evaluation preprocessing (decode a JPEG or PNG, resize the shorter
/// side to 256, center crop 224, normalise with ImageNet's means and stds into 3 x 224 x 224 floats, batches of 32)
/// on one folder of images: our pipeline (ImageSharp decoding, our ops, the prefetching batch loader) with 1 and
/// 2 workers, next to Python PIL + numpy doing the same steps with 1 and 2 threads
/// and 2 processes. Both end with each batch as one contiguous float32 array (ImageBatch.Data, a numpy array);
/// turning it into a tensor is a copy for TorchSharp and free for torch.from_numpy, so neither side does it.
/// Each configuration runs one warm-up pass, then whole passes until the time is up. Besides images/s it
/// reports CPU milliseconds per image (all threads of the process, GC included), a second view when other
/// work shares the machine.
/// </summary>
static class ImagePipelineBenchmark
{
    const int Batch = 32;

    public static void Run(string folder, double seconds, string python)
    {
        var images = ImageSet.FromFolder(folder);
        AnsiConsole.MarkupLineInterpolated($"Image pipeline: {images.Count} images under {folder}; decode, resize 256, center crop 224, normalise; batches of {Batch}; {Environment.ProcessorCount} cores");
        var rows = new List<(string Name, Measurement Result)>();
        foreach (int workers in new[] { 1, 2 })
            rows.Add(($"ours: ImageSharp + runtime ops, {workers} worker{(workers == 1 ? "" : "s")}", MeasureOurs(images, workers, seconds)));
        foreach (var (workers, mode) in new[] { (1, "thread"), (2, "thread"), (2, "process") })
            rows.Add(($"PIL + numpy, {workers} {mode}{(workers == 1 ? "" : mode == "thread" ? "s" : "es")}", MeasurePython(python, folder, workers, mode, seconds)));

        var table = new Table().AddColumns("configuration", "images/s", "CPU ms per image");
        foreach (var (name, result) in rows)
            table.AddRow(Markup.Escape(name), Show(result.ImagesPerSecond, "N1"), Show(result.CpuMillisecondsPerImage, "F2"));
        AnsiConsole.Write(table);
    }

    internal readonly record struct Measurement(double ImagesPerSecond, double CpuMillisecondsPerImage);

    internal static string Show(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);

    internal static Measurement MeasureOurs(ImageSet images, int workers, double seconds)
    {
        var pipeline = new ImagePipeline
        {
            Transform = new AspectScale(256, maxLongSide: int.MaxValue).Then(new CenterCrop(224, 224)).Then(ChannelNormalise.ImageNet),
            Strict = true,
        };
        var loader = new ImageBatchLoader(pipeline, Batch, workers, prefetchBatches: 2);
        int OnePass()
        {
            int count = 0;
            foreach (var batch in loader.Read(images)) count += batch.Count;
            return count;
        }
        OnePass(); // warm-up: JIT, file cache
        long total = 0;
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        do total += OnePass();
        while (clock.Elapsed.TotalSeconds < seconds);
        double wallSeconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        return new Measurement(total / wallSeconds, (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / total);
    }

    internal static Measurement MeasurePython(string python, string folder, int workers, string mode, double seconds)
    {
        var lines = PythonReference.Run(python, "image_pipeline.py",
            [folder, workers.ToString(CultureInfo.InvariantCulture), mode, seconds.ToString(CultureInfo.InvariantCulture)],
            "PIL reference", "python3-pil python3-numpy");
        if (lines is null) return new Measurement(double.NaN, double.NaN);
        string[] figures = lines[^1].Split(' ');
        return new Measurement(double.Parse(figures[0], CultureInfo.InvariantCulture), double.Parse(figures[1], CultureInfo.InvariantCulture));
    }
}
