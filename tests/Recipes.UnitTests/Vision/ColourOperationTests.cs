using Recipes.Runtime.Vision;

namespace Recipes.Tests.Vision;

public class ColourOperationTests
{
    static readonly RgbFrame Sample = TestFrames.Of(2, 1, 10, 100, 250, 0, 128, 255);

    [Fact]
    public void Brightness_adds_one_delta_to_every_channel_and_clamps_to_0_255()
    {
        var brighter = new Brightness(20, 20).Apply(Sample, seed: 1);
        Assert.Equal([30f, 120f, 255f, 20f, 148f, 255f], brighter.Pixels.ToArray());
        var darker = new Brightness(-50, -50).Apply(Sample, seed: 1);
        Assert.Equal([0f, 50f, 200f, 0f, 78f, 205f], darker.Pixels.ToArray());
        Assert.Equal(["brightness +20"], brighter.History);
    }

    [Fact]
    public void Brightness_draws_its_delta_from_the_range_and_repeats_with_the_seed()
    {
        var grey = RgbFrame.Filled(3, 3, 100, 100, 100);
        var op = new Brightness(0, 32);
        var deltas = Enumerable.Range(0, 200).Select(seed => op.Apply(grey, seed)[0, 0, 0] - 100).ToArray();
        Assert.All(deltas, delta => Assert.InRange(delta, 0f, 32f));
        Assert.True(deltas.Distinct().Count() > 150, "the delta should vary with the seed");
        Assert.Equal(op.Apply(grey, 42).Pixels.ToArray(), op.Apply(grey, 42).Pixels.ToArray());
    }

    [Fact]
    public void Contrast_multiplies_and_clamps()
    {
        var result = new Contrast(2, 2).Apply(Sample, seed: 1);
        Assert.Equal([20f, 200f, 255f, 0f, 255f, 255f], result.Pixels.ToArray());
    }

    [Fact]
    public void Hue_rotates_pure_colours_around_the_colour_wheel()
    {
        var red = TestFrames.Of(1, 1, 255, 0, 0);
        Assert.Equal([0f, 255f, 0f], new Hue(120, 120).Apply(red, 1).Pixels.ToArray());   // red -> green
        Assert.Equal([0f, 0f, 255f], new Hue(240, 240).Apply(red, 1).Pixels.ToArray());   // red -> blue
        Assert.Equal([0f, 0f, 255f], new Hue(-120, -120).Apply(red, 1).Pixels.ToArray()); // backwards: blue too
        Assert.Equal([255f, 255f, 0f], new Hue(60, 60).Apply(red, 1).Pixels.ToArray());   // red -> yellow
        var green = TestFrames.Of(1, 1, 0, 200, 0);
        Assert.Equal([0f, 0f, 200f], new Hue(120, 120).Apply(green, 1).Pixels.ToArray()); // green -> blue, value kept
    }

    [Fact]
    public void Hue_keeps_greys_and_a_full_turn_is_the_identity()
    {
        var greys = TestFrames.Of(2, 1, 0, 0, 0, 90, 90, 90);
        Assert.Equal(greys.Pixels.ToArray(), new Hue(77, 77).Apply(greys, 1).Pixels.ToArray());
        var mixed = TestFrames.Of(2, 1, 200, 120, 30, 15, 60, 240);
        var turned = new Hue(360, 360).Apply(mixed, 1).Pixels.ToArray();
        for (int i = 0; i < turned.Length; i++) Assert.Equal(mixed.Pixels[i], turned[i], 0.01f);
    }

    [Fact]
    public void Saturation_scales_the_distance_from_the_brightest_channel_keeping_hue_and_value()
    {
        var pixel = TestFrames.Of(1, 1, 200, 100, 50); // value 200, saturation 0.75
        Assert.Equal([200f, 150f, 125f], new Saturation(0.5, 0.5).Apply(pixel, 1).Pixels.ToArray());
        Assert.Equal([200f, 200f, 200f], new Saturation(0, 0).Apply(pixel, 1).Pixels.ToArray());
        // x2 would give saturation 1.5: clamped to 1, the smallest channel reaches 0 and no further.
        var doubled = new Saturation(2, 2).Apply(pixel, 1).Pixels.ToArray();
        Assert.Equal(200f, doubled[0]);
        Assert.Equal(200 - 100 * 200 / 150f, doubled[1], 0.001f);
        Assert.Equal(0f, doubled[2], 0.001f);
        var grey = TestFrames.Of(1, 1, 80, 80, 80);
        Assert.Equal([80f, 80f, 80f], new Saturation(10, 20).Apply(grey, 1).Pixels.ToArray());
    }

    [Fact]
    public void Fixed_channel_order_permutes_channels_and_random_order_is_a_seeded_permutation()
    {
        Assert.Equal([250f, 100f, 10f, 255f, 128f, 0f], new ChannelOrder(2, 1, 0).Apply(Sample, 1).Pixels.ToArray());
        var op = new ChannelOrder();
        var seen = new HashSet<string>();
        for (int seed = 0; seed < 60; seed++)
        {
            var shuffled = op.Apply(Sample, seed);
            float[] first = TestFrames.Pixel(shuffled, 0, 0);
            Assert.Equal([10f, 100f, 250f], first.Order().ToArray()); // the same values, reordered
            Assert.Equal(first, TestFrames.Pixel(op.Apply(Sample, seed), 0, 0));
            seen.Add(string.Join(",", first));
        }
        Assert.Equal(6, seen.Count); // every one of the six orders occurs
        Assert.Throws<ArgumentException>(() => new ChannelOrder(0, 0, 1));
    }

    [Fact]
    public void Colour_jitter_with_every_probability_zero_is_the_identity()
    {
        var jitter = new ColourJitter { BrightnessProbability = 0, ContrastProbability = 0, HueProbability = 0, SaturationProbability = 0 };
        var result = jitter.Apply(Sample, seed: 3);
        Assert.Equal(Sample.Pixels.ToArray(), result.Pixels.ToArray());
        Assert.Empty(result.History);
    }

    [Fact]
    public void Colour_jitter_with_only_brightness_shifts_within_its_delta_and_repeats_with_the_seed()
    {
        var grey = RgbFrame.Filled(2, 2, 128, 128, 128);
        var jitter = new ColourJitter { BrightnessProbability = 1, BrightnessDelta = 32, ContrastProbability = 0, HueProbability = 0, SaturationProbability = 0 };
        for (int seed = 0; seed < 50; seed++)
        {
            var result = jitter.Apply(grey, seed);
            Assert.InRange(result[0, 0, 0], 96f, 160f);
            Assert.Equal(result[0, 0, 0], result[1, 1, 2]);
            Assert.Single(result.History);
            Assert.Equal(result.Pixels.ToArray(), jitter.Apply(grey, seed).Pixels.ToArray());
        }
    }

    [Fact]
    public void Colour_jitter_applies_each_adjustment_about_as_often_as_its_probability()
    {
        var image = TestFrames.Of(1, 1, 200, 100, 50);
        var jitter = new ColourJitter { ChannelOrderProbability = 0.5, Shuffle = true };
        var steps = Enumerable.Range(0, 400).SelectMany(seed => jitter.Apply(image, seed).History).ToArray();
        foreach (string kind in new[] { "brightness", "contrast", "saturation", "hue", "channels" })
            Assert.InRange(steps.Count(step => step.StartsWith(kind, StringComparison.Ordinal)), 150, 250);
    }
}
