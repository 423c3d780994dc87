using Recipes.Runtime.Data;

namespace Recipes.Runtime.Models.ImageNet;

/// <summary>
/// Finds the ImageNet ResNet-18 and its preprocessing graph that NuGet package
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> 0.23.1 ships. A recipe that starts from them references the
/// package itself (62 MB of files that the other recipes should not carry), and its build props copy them to that
/// recipe's output folder as <c>DnnImageModels/</c>; a program run from elsewhere falls back to the NuGet
/// package folder ($NUGET_PACKAGES, else ~/.nuget/packages).
/// </summary>
public static class DnnImageModelFiles
{
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string PackageVersion = "0.23.1";
    const string ModelsFolder = "DnnImageModels";

    /// <summary>ResNet18Onnx/ResNet18.onnx: input Input247 [1,3,224,224], output Pooling395_Output_0 [1,512,1,1].</summary>
    public static string ResNet18 => Find(Path.Combine("ResNet18Onnx", "ResNet18.onnx"));

    /// <summary>ResNetPrepOnnx/ResNetPreprocess.onnx: RGB 0-255 to BGR minus the mean image.</summary>
    public static string ResNetPreprocess => Find(Path.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx"));

    static string Find(string relativePath)
    {
        var candidates = Candidates(relativePath).ToList();
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new DataFileException(candidates[0],
                $"ImageNet model file not found (also looked in {string.Join(", ", candidates.Skip(1))}); reference NuGet package {PackageId} {PackageVersion} from the program's project (its build copies the files beside the program) and build again");
    }

    static IEnumerable<string> Candidates(string relativePath)
    {
        yield return Path.Combine(AppContext.BaseDirectory, ModelsFolder, relativePath);
        string? packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        foreach (string? root in new[] { packages, string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".nuget", "packages") })
            if (!string.IsNullOrEmpty(root))
                yield return Path.Combine(root, PackageId.ToLowerInvariant(), PackageVersion, "tools", ModelsFolder, relativePath);
    }
}
