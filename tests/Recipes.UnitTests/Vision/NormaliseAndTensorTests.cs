using Recipes.Runtime.Vision;
using TorchSharp;

namespace Recipes.Tests.Vision;

public class NormaliseAndTensorTests
{
    [Fact]
    public void Channel_normalise_matches_hand_computed_values()
    {
        var frame = TestFrames.Of(2, 1, 123, 117, 104, 255, 0, 54);
        var result = new ChannelNormalise(123, 117, 104, 2, 4, 10).Apply(frame, 1);
        Assert.Equal([0f, 0f, 0f, 66f, -29.25f, -5f], result.Pixels.ToArray());

        var imageNet = ChannelNormalise.ImageNet.Apply(TestFrames.Of(1, 1, 255, 255, 255), 1);
        Assert.Equal((1 - 0.485f) / 0.229f, imageNet[0, 0, 0], 1e-4f);
        Assert.Equal((1 - 0.456f) / 0.224f, imageNet[0, 0, 1], 1e-4f);
        Assert.Equal((1 - 0.406f) / 0.225f, imageNet[0, 0, 2], 1e-4f);
    }

    [Fact]
    public void Pixel_normalise_subtracts_each_pixels_own_mean_and_names_a_size_mismatch()
    {
        var frame = TestFrames.Of(2, 1, 10, 20, 30, 40, 50, 60);
        var op = new PixelNormalise(2, 1, [1, 2, 3, 4, 5, 6]);
        Assert.Equal([9f, 18f, 27f, 36f, 45f, 54f], op.Apply(frame, 1).Pixels.ToArray());
        var error = Assert.Throws<ArgumentException>(() => op.Apply(TestFrames.Coordinates(3, 3), 1));
        Assert.Contains("2x1", error.Message);
        Assert.Contains("3x3", error.Message);
    }

    [Fact]
    public void Random_application_follows_its_probability_and_the_seed()
    {
        var frame = RgbFrame.Filled(1, 1, 100, 100, 100);
        var never = new Brightness(10, 10).WithProbability(0);
        var always = new Brightness(10, 10).WithProbability(1);
        var half = new Brightness(10, 10).WithProbability(0.5);
        Assert.All(Enumerable.Range(0, 50), seed => Assert.Equal(100f, never.Apply(frame, seed)[0, 0, 0]));
        Assert.Equal(["skipped Brightness(10, 10)"], never.Apply(frame, 1).History);
        Assert.All(Enumerable.Range(0, 50), seed => Assert.Equal(110f, always.Apply(frame, seed)[0, 0, 0]));
        int applied = Enumerable.Range(0, 1000).Count(seed => half.Apply(frame, seed)[0, 0, 0] == 110f);
        Assert.InRange(applied, 450, 550);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Brightness(0, 1).WithProbability(1.5));
    }

    [Fact]
    public void A_chain_applies_its_ops_in_order_and_flattens_nested_chains()
    {
        var chain = new Brightness(10, 10).Then(new Contrast(2, 2)).Then(new Brightness(-5, -5).Then(new HorizontalFlip()));
        Assert.Equal(4, chain.Operations.Count);
        Assert.Equal("Brightness(10, 10) -> Contrast(2, 2) -> Brightness(-5, -5) -> HorizontalFlip()", chain.Name);
        var result = chain.Apply(TestFrames.Of(2, 1, 0, 10, 20, 100, 110, 120), 1);
        Assert.Equal([215f, 235f, 250f, 15f, 35f, 55f], result.Pixels.ToArray()); // (v+10)*2 clamped to 255, -5, then mirrored
        Assert.Same(result, ImageOperation.None.Apply(result, 1));
    }

    [Fact]
    public void Chw_conversion_puts_each_channel_in_its_plane_in_the_chosen_order_and_scale()
    {
        var frame = TestFrames.Of(2, 1, 1, 2, 3, 4, 5, 6);
        Assert.Equal([1f, 4f, 2f, 5f, 3f, 6f], frame.ToChw());
        Assert.Equal([3f, 6f, 2f, 5f, 1f, 4f], frame.ToChw(ColourOrder.Bgr));
        Assert.Equal([0.5f, 2f, 1f, 2.5f, 1.5f, 3f], frame.ToChw(scale: 0.5f));

        using var scope = torch.NewDisposeScope();
        var chw = TestFrames.Coordinates(5, 4).ToTensor(ColourOrder.Bgr, 1 / 255f);
        Assert.Equal([3L, 4L, 5L], chw.shape);
        Assert.Equal(3 / 255f, chw[2, 1, 3].item<float>(), 1e-6f); // x in the last plane when BGR
        Assert.Equal(1 / 255f, chw[1, 1, 3].item<float>(), 1e-6f);
        var back = ImageTensors.FromChwTensor(chw, ColourOrder.Bgr, 1 / 255f);
        Assert.Equal(TestFrames.Coordinates(5, 4).Pixels.ToArray(), back.Pixels.ToArray().Select(value => MathF.Round(value)).ToArray());
    }
}
