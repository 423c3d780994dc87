using System.Globalization;
using static TorchSharp.torch;

namespace Recipes.NcfRecommendation;

/// <summary>
/// The stars a catalogue allows, from <see cref="Min"/> to <see cref="Max"/> in steps of <see cref="Step"/>
/// (1 to 5 whole stars for ML-1M and ML-100K, 0.5 to 5 in half stars for ml-latest). Each allowed value is
/// one class of an explicit-rating model: class 0 is <see cref="Min"/>.
/// </summary>
public sealed record RatingScale
{
    public RatingScale(double min, double max, double step)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || !(max > min))
            throw new ArgumentException($"a rating scale needs finite min < max, not {min}..{max}");
        if (!(step > 0) || Math.Abs((max - min) / step - Math.Round((max - min) / step)) > 1e-9)
            throw new ArgumentException($"step {step} does not divide the range {min}..{max} into whole steps");
        Min = min;
        Max = max;
        Step = step;
    }

    public double Min { get; }
    public double Max { get; }
    public double Step { get; }

    /// <summary>1 to 5 whole stars (ML-1M, ML-100K, the seed's five classes).</summary>
    public static RatingScale WholeStars { get; } = new(1, 5, 1);

    /// <summary>0.5 to 5 stars in half stars (ml-latest, ML-20M and later).</summary>
    public static RatingScale HalfStars { get; } = new(0.5, 5, 0.5);

    public int ClassCount => (int)Math.Round((Max - Min) / Step) + 1;

    public bool Allows(double stars)
    {
        if (!double.IsFinite(stars) || stars < Min - 1e-9 || stars > Max + 1e-9) return false;
        double position = (stars - Min) / Step;
        return Math.Abs(position - Math.Round(position)) < 1e-6;
    }

    public int ClassOf(double stars) => Allows(stars)
        ? (int)Math.Round((stars - Min) / Step)
        : throw new ArgumentOutOfRangeException(nameof(stars), stars, $"not on the scale {this}");

    public double StarsOf(int ratingClass) => ratingClass >= 0 && ratingClass < ClassCount
        ? Min + ratingClass * Step
        : throw new ArgumentOutOfRangeException(nameof(ratingClass), ratingClass, $"the scale {this} has {ClassCount} classes");

    /// <summary>The stars of the highest-scoring class of each row of <paramref name="logits"/> [batch, classes]
    /// (how Analytics Zoo's NeuralCF predicts a rating).</summary>
    public Tensor MostLikelyStars(Tensor logits) => logits.argmax(1).to(ScalarType.Float32).mul(Step).add(Min);

    /// <summary>The probability-weighted mean stars of each row of <paramref name="logits"/> [batch, classes]: a
    /// smoother prediction than the most likely class, usually with a lower squared error.</summary>
    public Tensor ExpectedStars(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var stars = arange(ClassCount, dtype: ScalarType.Float32, device: logits.device).mul(Step).add(Min);
        return nn.functional.softmax(logits.to(ScalarType.Float32), 1).matmul(stars).MoveToOuterDisposeScope();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Min:0.#}-{Max:0.#} stars in steps of {Step:0.#}");
}
