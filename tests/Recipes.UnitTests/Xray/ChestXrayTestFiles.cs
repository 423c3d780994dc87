using Recipes.Tests.Data;

namespace Recipes.Tests.Xray;

/// <summary>Small ChestX-ray14 folders written for a test, and the real samples beside the repository.</summary>
static class ChestXrayTestFiles
{
    public const string NihHeader = "Image Index,Finding Labels,Follow-up #,Patient ID";

    /// <summary>../shared/data/chestxray14 (8 PNGs, the labels of all 112,120 images, the official lists); the test
    /// fails with the path it looked at when the samples are missing.</summary>
    public static string FullLabelsFolder => Path.GetDirectoryName(SharedSampleData.Find(Path.Combine("chestxray14", "Data_Entry_2017_v2020_labels.csv")))!;

    /// <summary>../shared/data/chestxray14-starter (414 downscaled PNGs and their labels).</summary>
    public static string StarterFolder => Path.GetDirectoryName(SharedSampleData.Find(Path.Combine("chestxray14-starter", "Data_Entry_2017_v2020_labels.csv")))!;

    /// <summary>Writes <paramref name="relativePath"/> under <paramref name="folder"/>, creating its subfolders.</summary>
    public static string Write(string folder, string relativePath, string text)
    {
        string path = Path.Combine(folder, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A stand-in PNG: loading a data set lists files and never decodes them, so the bytes do not matter.</summary>
    public static string WritePng(string folder, string relativePath) => Write(folder, relativePath, "not decoded by the loader");

    public static string Lines(params string[] lines) => string.Join('\n', lines) + "\n";
}
