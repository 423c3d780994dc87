using System.Globalization;
using System.Text.Json;
using Recipes.Runtime.IO;
using Recipes.Runtime.Models;

namespace Recipes.Runtime.Training;

/// <summary>
/// The weights of the epoch with the best validation score so far (Keras' ModelCheckpoint with save_best_only
/// and restore_best_weights), so a run that began to overfit still ends with its best model. They are kept in
/// memory and, with a checkpoint folder, in <see cref="FileName"/> with the epoch and score beside it in
/// <see cref="ScoreFileName"/>, so a resumed run compares later epochs against the same best.
/// </summary>
public sealed class BestEpochWeights(bool higherIsBetter, string? folder) : IDisposable
{
    public const string FileName = "best.bin";
    public const string ScoreFileName = "best.json";

    Dictionary<string, Tensor>? _weights;

    /// <summary>The 0-based epoch of the best score so far, or null before the first scored epoch.</summary>
    public int? Epoch { get; private set; }
    public double Score { get; private set; } = double.NaN;

    string? WeightsPath => folder is null ? null : Path.Combine(folder, FileName);
    string? ScorePath => folder is null ? null : Path.Combine(folder, ScoreFileName);

    /// <summary>Keeps <paramref name="model"/>'s weights when <paramref name="score"/> beats the best so far
    /// (NaN never does: an epoch without a score cannot be judged).</summary>
    public bool Offer(int epoch, double score, nn.Module model)
    {
        if (double.IsNaN(score)) return false;
        if (Epoch is not null && !(higherIsBetter ? score > Score : score < Score)) return false;
        Epoch = epoch;
        Score = score;
        Replace(Snapshot(model));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
            ModelWeightsFile.Save(WeightsPath!, model);
            AtomicFile.WriteAllText(ScorePath!, JsonSerializer.Serialize(new BestRecord(epoch, score)) + "\n");
        }
        return true;
    }

    /// <summary>After a resume: takes the best epoch saved by the earlier run, if any, loading its weights
    /// through a copy of <paramref name="model"/>'s own (which are restored afterwards).</summary>
    public void Resume(nn.Module model)
    {
        if (ScorePath is null || !File.Exists(ScorePath) || !File.Exists(WeightsPath)) return;
        var record = JsonSerializer.Deserialize<BestRecord>(File.ReadAllText(ScorePath))
            ?? throw new Data.DataFileException(ScorePath, "empty best-epoch record");
        var current = Snapshot(model);
        try
        {
            ModelWeightsFile.LoadInto(WeightsPath!, model);
            Replace(Snapshot(model));
            Epoch = record.Epoch;
            Score = record.Score;
        }
        finally
        {
            CopyInto(current, model);
            foreach (var tensor in current.Values) tensor.Dispose();
        }
    }

    /// <summary>Copies the best weights into <paramref name="model"/>.</summary>
    public void RestoreInto(nn.Module model)
    {
        if (_weights is null) throw new InvalidOperationException("no epoch has been scored yet");
        CopyInto(_weights, model);
    }

    static Dictionary<string, Tensor> Snapshot(nn.Module model)
    {
        using var noGrad = torch.no_grad();
        return model.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.detach().clone().DetachFromDisposeScope());
    }

    static void CopyInto(IReadOnlyDictionary<string, Tensor> weights, nn.Module model)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in model.state_dict())
            tensor.copy_(weights[name]);
    }

    void Replace(Dictionary<string, Tensor> weights)
    {
        if (_weights is not null) foreach (var tensor in _weights.Values) tensor.Dispose();
        _weights = weights;
    }

    public void Dispose() => Replace(null!);

    public override string ToString() => Epoch is int epoch
        ? string.Create(CultureInfo.InvariantCulture, $"best epoch {epoch + 1} ({Score:G4})")
        : "no best epoch yet";

    sealed record BestRecord(int Epoch, double Score);
}
