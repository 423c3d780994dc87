using System.CommandLine;

namespace Recipes.TransferLearning;

/// <summary>Where the frozen part of the backbone runs.</summary>
public enum BackboneChoice { TorchSharp, Onnx }

/// <summary>The recipe's own settings, after parsing.</summary>
public sealed record TransferLearningSettings(BackboneChoice Backbone, string FreezeUpTo);

/// <summary>The options this recipe adds to the common ones.</summary>
public sealed class TransferLearningOptions
{
    public TransferLearningOptions(RootCommand root)
    {
        Backbone = new Option<BackboneChoice>("--backbone")
        {
            Description = "torchsharp: fine-tune the imported network after --freeze-up-to; onnx: freeze it all, features by ONNX Runtime",
            DefaultValueFactory = _ => BackboneChoice.TorchSharp,
        };
        FreezeUpTo = new Option<string>("--freeze-up-to") { Description = "Last frozen layer: stem, layer1 .. layer4, or a block such as layer4.1", DefaultValueFactory = _ => "layer4.1" };
        root.Options.Add(Backbone);
        root.Options.Add(FreezeUpTo);
    }

    public Option<BackboneChoice> Backbone { get; }
    public Option<string> FreezeUpTo { get; }

    public TransferLearningSettings Read(ParseResult parsed) => new(parsed.GetValue(Backbone), parsed.GetValue(FreezeUpTo)!);
}
