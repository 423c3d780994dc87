using Recipes.Mnist;

namespace Recipes.Tests.Mnist;

public class GeneratedDigitsTests
{
    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_does_not()
    {
        var first = GeneratedDigits.Create(300, seed: 5);
        var again = GeneratedDigits.Create(300, seed: 5);
        var other = GeneratedDigits.Create(300, seed: 6);

        Assert.Equal(first.Pixels, again.Pixels);
        Assert.Equal(first.Labels, again.Labels);
        Assert.NotEqual(first.Pixels, other.Pixels);
        Assert.NotEqual(first.Labels, other.Labels);
    }

    [Fact]
    public void Has_the_shape_of_MNIST()
    {
        var digits = GeneratedDigits.Create(20, seed: 1);

        Assert.Equal((20, 28, 28, 10), (digits.Count, digits.Height, digits.Width, digits.ClassCount));
        Assert.Equal(20 * 28 * 28, digits.Pixels.Length);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(1007)]
    public void Classes_are_balanced_and_shuffled(int count)
    {
        var digits = GeneratedDigits.Create(count, seed: 3);

        var perClass = Enumerable.Range(0, 10).Select(label => digits.Labels.Count(l => l == label)).ToArray();
        Assert.All(perClass, n => Assert.InRange(n, count / 10, count / 10 + 1));
        // Shuffled: not simply 0, 1, 2, ... 9, 0, 1, ...
        Assert.True(Enumerable.Range(0, count).Count(i => digits.Labels[i] == i % 10) < count / 5);
    }

    [Fact]
    public void Pixel_statistics_look_like_MNIST()
    {
        var digits = GeneratedDigits.Create(1000, seed: 8);

        // MNIST: mean intensity 0.13 of full scale, about a fifth of the pixels inked.
        double mean = digits.Pixels.Average(p => (double)p) / 255;
        Assert.InRange(mean, 0.08, 0.2);
        double inked = digits.Pixels.Count(p => p > 0) / (double)digits.Pixels.Length;
        Assert.InRange(inked, 0.1, 0.3);
        for (int i = 0; i < digits.Count; i++)
        {
            var image = digits.Image(i);
            // White ink that saturates in the middle of the stroke, soft at its edges.
            Assert.True(image.IndexOf((byte)255) >= 0, $"image {i} never reaches full ink");
            Assert.Contains(image.ToArray(), p => p is > 0 and < 255);
        }
    }

    [Fact]
    public void Digits_are_fitted_into_about_20_pixels_and_centred_by_mass()
    {
        var digits = GeneratedDigits.Create(500, seed: 9);

        for (int i = 0; i < digits.Count; i++)
        {
            var image = digits.Image(i);
            double mass = 0, sumX = 0, sumY = 0;
            int top = 28, bottom = -1, left = 28, right = -1;
            for (int y = 0; y < 28; y++)
            {
                for (int x = 0; x < 28; x++)
                {
                    byte p = image[y * 28 + x];
                    mass += p; sumX += p * x; sumY += p * y;
                    if (p > 127) { top = Math.Min(top, y); bottom = Math.Max(bottom, y); left = Math.Min(left, x); right = Math.Max(right, x); }
                }
            }
            int largerSide = Math.Max(bottom - top, right - left) + 1;
            Assert.InRange(largerSide, 14, 22);
            Assert.InRange(sumX / mass, 11, 16);
            Assert.InRange(sumY / mass, 11, 16);
        }
    }

    [Fact]
    public void A_nearest_centroid_classifier_learns_the_classes()
    {
        // Cheap proof that the classes are distinct and consistent: far above the 0.1 of guessing.
        var train = GeneratedDigits.Create(2000, seed: 21);
        var test = GeneratedDigits.Create(1000, seed: 22);
        const int pixels = 28 * 28;

        var centroids = new double[10, pixels];
        var counts = new int[10];
        for (int i = 0; i < train.Count; i++)
        {
            int label = train.Labels[i];
            counts[label]++;
            var image = train.Image(i);
            for (int p = 0; p < pixels; p++) centroids[label, p] += image[p];
        }
        for (int c = 0; c < 10; c++)
            for (int p = 0; p < pixels; p++) centroids[c, p] /= counts[c];

        int correct = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var image = test.Image(i);
            int best = -1;
            double bestDistance = double.MaxValue;
            for (int c = 0; c < 10; c++)
            {
                double distance = 0;
                for (int p = 0; p < pixels; p++) { double d = image[p] - centroids[c, p]; distance += d * d; }
                if (distance < bestDistance) { bestDistance = distance; best = c; }
            }
            if (best == test.Labels[i]) correct++;
        }
        double accuracy = correct / (double)test.Count;

        Assert.True(accuracy >= 0.6, $"nearest-centroid accuracy {accuracy:F3}");
    }

    [Fact]
    public void Rendering_one_digit_is_deterministic_and_depends_on_the_digit()
    {
        Assert.Equal(GeneratedDigits.Render(4, 77), GeneratedDigits.Render(4, 77));
        Assert.NotEqual(GeneratedDigits.Render(4, 77), GeneratedDigits.Render(9, 77));
        Assert.Throws<ArgumentOutOfRangeException>(() => GeneratedDigits.Render(10, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => GeneratedDigits.Create(-1, 1));
    }

    [Fact]
    public void Generated_digits_survive_an_IDX_round_trip()
    {
        using var folder = new TemporaryFolder();
        var digits = GeneratedDigits.Create(50, seed: 2);
        IdxWriter.WriteDataset(digits, folder.File(MnistFiles.TestImages + ".gz"), folder.File(MnistFiles.TestLabels + ".gz"), gzip: true);

        var read = IdxReader.ReadDataset(folder.File(MnistFiles.TestImages + ".gz"), folder.File(MnistFiles.TestLabels + ".gz"));

        Assert.Equal(digits.Pixels, read.Pixels);
        Assert.Equal(digits.Labels, read.Labels);
    }
}
