namespace Recipes.ObjectDetection;

/// <summary>What the recipe prints and writes about its data and its detections, besides the metric itself.</summary>
public static class DetectionReports
{
    /// <summary>Objects per class in the training and test images (difficult ones counted apart).</summary>
    public static void PrintObjectCounts(IReadOnlyList<AnnotatedImage> train, IReadOnlyList<AnnotatedImage> test, IReadOnlyList<string> classes, TextWriter output)
    {
        int width = Math.Max(5, classes.Max(name => name.Length));
        output.WriteLine($"  {"class".PadRight(width)}  train objects  test objects (difficult)");
        for (int c = 0; c < classes.Count; c++)
        {
            int trainCount = train.Sum(image => image.Objects.Count(o => o.ClassIndex == c));
            int testCount = test.Sum(image => image.Objects.Count(o => o.ClassIndex == c && !o.Difficult));
            int testDifficult = test.Sum(image => image.Objects.Count(o => o.ClassIndex == c && o.Difficult));
            output.WriteLine($"  {classes[c].PadRight(width)}  {trainCount,13:N0}  {testCount,12:N0} ({testDifficult:N0})");
        }
    }

    static DateTime _lastProgress;

    /// <summary>A progress line at most twice a second, and at the end.</summary>
    public static void Progress(string what, int done, int total)
    {
        if (done < total && (DateTime.UtcNow - _lastProgress).TotalSeconds < 0.5) return;
        _lastProgress = DateTime.UtcNow;
        Console.Write($"\r{what}: {done:N0} / {total:N0} images{(done >= total ? "\n" : "")}");
    }

    /// <summary>
    /// The test set as text files that <c>evaluate</c> reads: <c>ground-truth/</c> and <c>detections/</c>, one file
    /// per image, so `object-detection evaluate --ground-truth DIR/ground-truth --detections DIR/detections` reproduces
    /// the test mAP, and other tools can score the same detections.
    /// </summary>
    public static string WriteTextFiles(string folder, IReadOnlyList<AnnotatedImage> images, IReadOnlyList<IReadOnlyList<Detection>> detections, IReadOnlyList<string> classes)
    {
        for (int i = 0; i < images.Count; i++)
        {
            DetectionTextFiles.WriteGroundTruth(Path.Combine(folder, "ground-truth"), images[i].Id, images[i].Objects, classes);
            DetectionTextFiles.WriteDetections(Path.Combine(folder, "detections"), images[i].Id, detections[i], classes);
        }
        return folder;
    }

    /// <summary>Test images annotated with their (already computed) detections, and the GIF of them in order.</summary>
    public static FolderVisualisation AnnotateExamples(string folder, IReadOnlyList<AnnotatedImage> images, IReadOnlyList<IReadOnlyList<Detection>> detections,
        IReadOnlyList<string> classes, double threshold)
    {
        var byPath = images.Select((image, i) => (image.Path, Detections: detections[i])).ToDictionary(pair => pair.Path, pair => pair.Detections);
        return DetectionVisualiser.AnnotateImages(path => byPath[path], images.Select(image => image.Path).ToList(), folder, classes, threshold, TextWriter.Null);
    }
}
