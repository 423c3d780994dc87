using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MyRecipe;

/// <summary>
/// A multi-layer perceptron: two hidden layers of <c>hidden</c> units with ReLU, and one output
/// (logit) per class. Replace it with your own network; the trainer only needs a Module from input to output.
/// </summary>
public sealed class SpiralClassifier : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> _layers;

    public SpiralClassifier(int features, int hidden, int classes) : base(nameof(SpiralClassifier))
    {
        _layers = Sequential(
            ("hidden1", Linear(features, hidden)),
            ("relu1", ReLU()),
            ("hidden2", Linear(hidden, hidden)),
            ("relu2", ReLU()),
            ("output", Linear(hidden, classes)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => _layers.forward(input);
}
