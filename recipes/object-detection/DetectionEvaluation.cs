using System.Globalization;

namespace Recipes.ObjectDetection;

/// <summary>
/// The <c>evaluate</c> command's work: a folder of ground-truth text files and a folder of detection text files
/// (see <see cref="DetectionTextFiles"/>) in, the VOC AP of every class and their mean out, printed as a table.
/// </summary>
public static class DetectionEvaluation
{
    /// <summary>
    /// Reads both folders, evaluates with <see cref="VocAveragePrecision.Evaluate"/> over the ordinal-sorted union of
    /// the class names found in them, prints a one-line summary of what was read and the table to
    /// <paramref name="output"/>, and returns the result.
    /// </summary>
    /// <exception cref="Recipes.Runtime.Data.DataFileException">A folder is missing or a file is malformed, or a
    /// detection file has no ground-truth file.</exception>
    public static VocEvaluationResult Run(string groundTruthFolder, string detectionsFolder, ApInterpolation interpolation, TextWriter output,
        double iouThreshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(output);
        var set = DetectionTextFiles.ReadFolders(groundTruthFolder, detectionsFolder);
        var result = VocAveragePrecision.Evaluate(set.ClassNames, set.Images, interpolation, iouThreshold);
        int objects = set.Images.Sum(image => image.GroundTruth.Count);
        int difficult = set.Images.Sum(image => image.GroundTruth.Count(item => item.Difficult));
        int detections = set.Images.Sum(image => image.Detections.Count);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{set.Images.Count} images, {objects} ground-truth objects ({difficult} difficult), {detections} detections, {set.ClassNames.Count} classes"));
        WriteTable(result, output);
        return result;
    }

    /// <summary>
    /// Prints one row per class (AP to 4 decimals, non-difficult ground truth, detections, true and false positives;
    /// "-" for an undefined AP) and the mAP line with the interpolation and IoU threshold it was computed with.
    /// Detections matched to difficult objects are counted in "detections" but in neither TP nor FP.
    /// </summary>
    public static void WriteTable(VocEvaluationResult result, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(output);
        int nameWidth = Math.Max(5, result.PerClass.Select(row => row.ClassName.Length).DefaultIfEmpty(0).Max());
        string Row(string name, string ap, string truth, string found, string tp, string fp, string note = "") =>
            $"{name.PadRight(nameWidth)}  {ap,6}  {truth,6}  {found,10}  {tp,6}  {fp,6}{note}".TrimEnd();

        output.WriteLine(Row("class", "AP", "GT", "detections", "TP", "FP"));
        foreach (var row in result.PerClass)
            output.WriteLine(Row(row.ClassName, Format(row.AveragePrecision), Count(row.GroundTruthCount), Count(row.DetectionCount),
                Count(row.TruePositives), Count(row.FalsePositives), row.AveragePrecision is null ? "  (no ground truth: left out of the mean)" : ""));
        int defined = result.PerClass.Count(row => row.AveragePrecision is not null);
        string method = result.Interpolation == ApInterpolation.AllPoints ? "all-point interpolation (VOC2010+)" : "11-point interpolation (VOC2007)";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"mAP".PadRight(nameWidth)}  {Format(double.IsNaN(result.MeanAveragePrecision) ? null : result.MeanAveragePrecision),6}  over {defined} of {result.PerClass.Count} classes, {method}, IoU >= {result.IouThreshold:0.###}"));
    }

    static string Format(double? value) => value is double ap ? ap.ToString("0.0000", CultureInfo.InvariantCulture) : "-";

    static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);
}
