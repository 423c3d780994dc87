using Recipes.Runtime.Models;

namespace Recipes.Mnist;

/// <summary>What, besides the weights, is needed to use a saved LeNet-5 again: the data set it learnt (which names its
/// classes), how many classes it tells apart, and the pixel normalisation its inputs had at training.</summary>
public sealed record MnistModelDescription(string Dataset, int ClassCount, double Mean, double Std) : ISavedModelDescription
{
    public static string Recipe => "mnist";

    public string? FindProblem() =>
        ClassCount < 2 ? $"class_count {ClassCount}: a classifier needs 2 or more classes"
        : !double.IsFinite(Mean) || !(Std > 0) || !double.IsFinite(Std) ? $"the normalisation (mean {Mean}, std {Std}) needs a finite mean and a positive std"
        : null;
}
