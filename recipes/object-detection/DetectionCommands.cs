using Recipes.Runtime.Recipes;

namespace Recipes.ObjectDetection;

/// <summary>The recipe's commands besides training: <c>predict</c> (the visualiser) and <c>evaluate</c> (the VOC metric on text files).</summary>
public static class DetectionCommands
{
    /// <summary>
    /// Detects objects in every image of a folder (or every frame of a video, extracted in order) with a saved model:
    /// each image annotated with its boxes, class names and scores, the frames in order as an animated GIF, and the
    /// detections of each image as a text file that <c>evaluate</c> (or another tool) can score.
    /// </summary>
    public static int Predict(CommonOptions options, string? modelPath, string imagesFolder, double threshold)
    {
        modelPath ??= Path.Combine(options.Output, "model.bin");
        if (!Directory.Exists(imagesFolder)) throw new DirectoryNotFoundException($"--images {imagesFolder}: no such folder");
        using var detector = SsdDetector.Load(modelPath);
        var classes = detector.Description.Classes;
        string output = Path.Combine(options.Output, "predict");
        string textFolder = Path.Combine(output, "detections");
        Console.WriteLine($"Model: SSD{detector.Description.ImageSize} ({detector.Description.Backbone}) trained on {detector.Description.Dataset}, classes {string.Join(", ", classes)}");
        var visualised = DetectionVisualiser.AnnotateFolder(imagePath =>
        {
            var detections = detector.Detect(imagePath);
            DetectionTextFiles.WriteDetections(textFolder, Path.GetFileNameWithoutExtension(imagePath), detections, classes);
            return detections;
        }, imagesFolder, output, classes, threshold, Console.Out);
        Console.WriteLine($"{visualised.Images} images, {visualised.DetectionsDrawn} detections with score >= {threshold:0.##} drawn, {visualised.SkippedCount} skipped; " +
                          $"annotated images in {output}, {visualised.GifPath ?? "no GIF (no image)"}, detection text files in {textFolder}");
        return visualised.Images > 0 ? 0 : 1;
    }

    /// <summary>Scores detections against ground truth, both as one text file per image, and prints the per-class table and the mAP.</summary>
    public static int Evaluate(string groundTruthFolder, string detectionsFolder, ApInterpolation interpolation)
    {
        var result = DetectionEvaluation.Run(groundTruthFolder, detectionsFolder, interpolation, Console.Out);
        return double.IsNaN(result.MeanAveragePrecision) ? 1 : 0;
    }
}
