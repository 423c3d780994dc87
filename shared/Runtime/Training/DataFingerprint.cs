using System.Globalization;
using System.Security.Cryptography;

namespace Recipes.Runtime.Training;

/// <summary>A batch source that can name its content exactly and cheaply (a hash of what it was built from), for
/// sources whose targets alone say little about the data (every implicit-feedback source has the same labels).</summary>
public interface IDataIdentity
{
    string DataIdentity { get; }
}

/// <summary>
/// What a training run was trained on, recorded in its checkpoints so that <c>--resume</c> refuses other data with
/// the same sample count (a Fashion-MNIST checkpoint resumed on digits would otherwise train on silently). It looks
/// at a few evenly spaced samples only, so it costs one small batch: their targets exactly (labels are integers or
/// values read from the data), and, for sources that hold their inputs in memory, each probed input's mean and mean
/// absolute value. Inputs are compared with a tolerance, not hashed: inputs computed by a network (frozen features)
/// differ in the last bits between thread counts (DESIGN.md 7), and a resume on another <c>--master</c> is the same
/// data. Sources that compute inputs per call (image pipelines, possibly with random augmentation) are judged by their
/// targets and count only.
/// </summary>
public sealed record DataFingerprint
{
    public const int ProbedSamples = 16;
    /// <summary>Relative tolerance for the input statistics: far above float32 rounding between kernels (1e-6), far
    /// below the difference between two data sets' images.</summary>
    const double InputTolerance = 1e-3;

    public required int SampleCount { get; init; }
    /// <summary>SHA-256 (first 16 hex digits) of the probed samples' targets, or of the source's <see cref="IDataIdentity"/>.</summary>
    public required string Exact { get; init; }
    /// <summary>Mean and mean absolute value of each probed input; null when the source computes inputs per call.</summary>
    public double[]? InputSignature { get; init; }
    /// <summary>Where the data came from, in words (for the message when it differs); null when the recipe does not say.</summary>
    public string? Description { get; init; }

    public static DataFingerprint Of(IBatchSource source, string? description = null)
    {
        if (source.Count == 0) return new DataFingerprint { SampleCount = 0, Exact = "", Description = description };
        int probes = Math.Min(ProbedSamples, source.Count);
        int[] indices = new int[probes];
        for (int i = 0; i < probes; i++) indices[i] = (int)((long)i * (source.Count - 1) / Math.Max(1, probes - 1));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (input, target) = source.GetBatch(indices);
        string exact;
        if (source is IDataIdentity identity) exact = Hash(System.Text.Encoding.UTF8.GetBytes(identity.DataIdentity));
        else
        {
            var flat = target.contiguous().cpu();
            byte[] bytes = flat.bytes.ToArray();
            exact = Hash([.. System.Text.Encoding.UTF8.GetBytes($"{flat.dtype}:{string.Join('x', flat.shape)}:"), .. bytes]);
        }
        double[]? signature = null;
        if (source is InMemoryBatchSource)
        {
            var rows = input.to(ScalarType.Float64).reshape(probes, -1);
            double[] means = rows.mean([1]).data<double>().ToArray();
            double[] absolute = rows.abs().mean([1]).data<double>().ToArray();
            signature = [.. means, .. absolute];
        }
        return new DataFingerprint { SampleCount = source.Count, Exact = exact, InputSignature = signature, Description = description };
    }

    /// <summary>Null when <paramref name="other"/> is the same data as far as a fingerprint can tell; otherwise what differs.</summary>
    public string? DifferenceFrom(DataFingerprint other)
    {
        if (SampleCount != other.SampleCount) return $"{SampleCount:N0} samples, not {other.SampleCount:N0}";
        if (Exact != other.Exact) return "the targets (labels) of the same samples differ";
        if (InputSignature is { } mine && other.InputSignature is { } theirs)
        {
            if (mine.Length != theirs.Length) return "the inputs have another shape";
            // Each sample's statistics are judged on the scale of its mean absolute value (second half), so that a
            // mean near zero (standardised inputs) is not held to a tolerance smaller than rounding.
            int probes = mine.Length / 2;
            for (int i = 0; i < mine.Length; i++)
            {
                double scale = Math.Max(Math.Abs(mine[probes + i % probes]), Math.Abs(theirs[probes + i % probes])) + 1e-12;
                if (Math.Abs(mine[i] - theirs[i]) > InputTolerance * scale) return "the inputs of the same samples differ";
            }
        }
        return null;
    }

    public override string ToString() =>
        (Description is null ? "" : Description + ", ") + string.Create(CultureInfo.InvariantCulture, $"{SampleCount:N0} samples, fingerprint {Exact}");

    static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant();
}
