namespace Recipes.Runtime.Training.Optimization;

/// <summary>The optimizers the recipes use (BigDL's SGD, Adam and RMSprop), all built on TorchSharp's.</summary>
public enum OptimizerKind
{
    Sgd,
    Adam,
    RmsProp,
}
