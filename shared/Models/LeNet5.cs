using static TorchSharp.torch.nn;

namespace Recipes.Runtime.Models;

/// <summary>
/// LeNet-5 (LeCun et al., 1998) in its common modern form: two 5x5 convolutions with ReLU and 2x2 max
/// pooling, then three fully connected layers. Input: a batch of 1x28x28 images (padded to the original
/// 32x32 receptive field by the first convolution's padding of 2). Output: one logit per class.
/// About 61,700 parameters.
/// </summary>
public sealed class LeNet5 : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> _features;
    readonly Module<Tensor, Tensor> _classifier;

    public LeNet5(int classCount = 10) : base(nameof(LeNet5))
    {
        _features = Sequential(
            ("conv1", Conv2d(1, 6, kernel_size: 5, padding: 2)),   // 6 x 28 x 28
            ("relu1", ReLU()),
            ("pool1", MaxPool2d(kernel_size: 2)),                 // 6 x 14 x 14
            ("conv2", Conv2d(6, 16, kernel_size: 5)),             // 16 x 10 x 10
            ("relu2", ReLU()),
            ("pool2", MaxPool2d(kernel_size: 2)));                // 16 x 5 x 5
        _classifier = Sequential(
            ("flatten", Flatten()),
            ("fc1", Linear(16 * 5 * 5, 120)),
            ("relu3", ReLU()),
            ("fc2", Linear(120, 84)),
            ("relu4", ReLU()),
            ("fc3", Linear(84, classCount)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => _classifier.forward(_features.forward(input));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _features.Dispose();
            _classifier.Dispose();
        }
        base.Dispose(disposing);
    }
}
