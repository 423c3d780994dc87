using System.CommandLine;
using Recipes.Runtime.Models.ImageNet;

namespace Recipes.ImageSimilarity;

/// <summary>The recipe's own settings, after parsing.</summary>
public sealed record ImageSimilaritySettings(string? QueryPath, int TopK, FeatureBackend Backend, bool FineTune);

/// <summary>The options this recipe adds to the common ones.</summary>
public sealed class ImageSimilarityOptions
{
    public ImageSimilarityOptions(RootCommand root)
    {
        Query = new Option<string?>("--query") { Description = "A picture to search for (default: the first test picture of each class)" };
        Top = new Option<int>("--top") { Description = "How many results per query (K)", DefaultValueFactory = _ => 5 };
        Backbone = new Option<FeatureBackend>("--backbone") { Description = "Where features are computed: OnnxRuntime or TorchSharp", DefaultValueFactory = _ => FeatureBackend.OnnxRuntime };
        FineTune = new Option<bool>("--fine-tune") { Description = "Train a classifier on the labels and add 1 to results of the query's predicted class (the seed's scoring)" };
        root.Options.Add(Query);
        root.Options.Add(Top);
        root.Options.Add(Backbone);
        root.Options.Add(FineTune);
    }

    public Option<string?> Query { get; }
    public Option<int> Top { get; }
    public Option<FeatureBackend> Backbone { get; }
    public Option<bool> FineTune { get; }

    public ImageSimilaritySettings Read(ParseResult parsed)
    {
        int k = parsed.GetValue(Top);
        if (k is < 1 or > 50) throw new ArgumentException("--top must be between 1 and 50");
        return new ImageSimilaritySettings(parsed.GetValue(Query), k, parsed.GetValue(Backbone), parsed.GetValue(FineTune));
    }
}
