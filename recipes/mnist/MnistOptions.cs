using System.CommandLine;
using Recipes.Runtime.Training.Optimization;

namespace Recipes.Mnist;

/// <summary>The recipe's own settings, after parsing.</summary>
public sealed record MnistSettings(MnistVariant Dataset, OptimizerKind Optimizer, bool LogSamples);

/// <summary>The options this recipe adds to the common ones, and its <c>predict</c> command.</summary>
public sealed class MnistOptions
{
    public MnistOptions(RootCommand root)
    {
        Dataset = new Option<MnistVariant>("--dataset") { Description = "digits (MNIST) or fashion (Fashion-MNIST)", DefaultValueFactory = _ => MnistVariant.Digits, Recursive = true };
        Optimizer = new Option<OptimizerKind>("--optimizer") { Description = "Adam (default), RmsProp or Sgd (momentum 0.9, Nesterov)", DefaultValueFactory = _ => OptimizerKind.Adam };
        Model = new Option<string?>("--model") { Description = "Saved model to load (default: <output>/model.bin)" };
        LogSamples = new Option<bool>("--log-samples") { Description = "Write <output>/samples.tsv: the samples each step used in this process (to check distributed runs)" };
        root.Options.Add(Dataset);
        root.Options.Add(Optimizer);
        root.Options.Add(LogSamples);
        PredictCommand = new Command("predict", "Load a saved model and report its accuracy on the test files of --data (the seed's mnist_pred).") { Model };
        root.Subcommands.Add(PredictCommand);
    }

    public Option<MnistVariant> Dataset { get; }
    public Option<OptimizerKind> Optimizer { get; }
    public Option<string?> Model { get; }
    public Option<bool> LogSamples { get; }
    public Command PredictCommand { get; }

    public MnistSettings Read(ParseResult parsed) => new(parsed.GetValue(Dataset), parsed.GetValue(Optimizer), parsed.GetValue(LogSamples));
}
