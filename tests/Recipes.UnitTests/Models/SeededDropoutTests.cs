using Recipes.Runtime.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.Models;

public sealed class SeededDropoutTests
{
    [Fact]
    public void Dropout_masks_repeat_for_the_same_stream_and_call_and_differ_otherwise()
    {
        using var ones = torch.ones(200, 50);
        using var a = new SeededDropout(0.2, stream: 7);
        using var b = new SeededDropout(0.2, stream: 7);
        using var c = new SeededDropout(0.2, stream: 8);
        using var a1 = a.forward(ones);
        using var b1 = b.forward(ones);
        using var c1 = c.forward(ones);
        using var a2 = a.forward(ones);
        Assert.True(Same(a1, b1));
        Assert.False(Same(a1, c1));
        Assert.False(Same(a1, a2)); // the next call draws a new mask
        // Kept values are scaled by 1/(1-p); about 80% are kept.
        double kept = a1.gt(0).to_type(ScalarType.Float64).mean().ToDouble();
        Assert.InRange(kept, 0.77, 0.83);
        Assert.Equal(1 / 0.8, a1.max().ToDouble(), 5);
        a.eval();
        using var passed = a.forward(ones);
        Assert.True(Same(passed, ones));
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().ToBoolean();
}
