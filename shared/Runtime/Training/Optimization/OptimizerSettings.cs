namespace Recipes.Runtime.Training.Optimization;

/// <summary>
/// Hyper-parameters for <see cref="OptimizerFactory.Create"/>. Each optimizer reads only its own fields;
/// defaults are TorchSharp's (which match BigDL's for Adam and RMSprop).
/// </summary>
/// <remarks>
/// SGD follows PyTorch: the first momentum step uses the raw gradient and <see cref="Dampening"/> defaults to 0.
/// BigDL's SGD inherited Torch7's default dampening = momentum; set <c>Dampening = Momentum</c> to mimic it
/// (Nesterov then is not allowed, in both libraries).
/// </remarks>
public sealed record OptimizerSettings(double LearningRate)
{
    /// <summary>SGD only: momentum factor; 0 is plain SGD.</summary>
    public double Momentum { get; init; }

    /// <summary>SGD only: fraction of the new gradient held back from the momentum buffer.</summary>
    public double Dampening { get; init; }

    /// <summary>SGD only: Nesterov momentum (needs Momentum &gt; 0 and Dampening = 0).</summary>
    public bool Nesterov { get; init; }

    /// <summary>Adam only: decay of the running mean of gradients.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>Adam only: decay of the running mean of squared gradients.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Adam and RMSprop: added to the denominator so a zero gradient history does not divide by zero.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>
    /// RMSprop only: decay of the running mean of squared gradients. 0.99 is both BigDL's RMSprop
    /// <c>decayRate</c> default (from Torch7) and PyTorch's <c>alpha</c>, so the port trains like the seed;
    /// Keras' RMSprop uses <c>rho = 0.9</c>, set 0.9 to follow a Keras configuration instead.
    /// </summary>
    public double Alpha { get; init; } = 0.99;

    /// <summary>
    /// All optimizers: L2 penalty folded into every parameter's gradient (<c>grad += WeightDecay * w</c>).
    /// To penalise only some layers, as BigDL's per-layer regularisers do, use <see cref="L2Regularization"/>.
    /// </summary>
    public double WeightDecay { get; init; }
}
