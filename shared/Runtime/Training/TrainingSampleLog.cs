using System.Globalization;

namespace Recipes.Runtime.Training;

/// <summary>
/// <see cref="TrainerSettings.SampleLogPath"/>: one line per completed step with step, epoch, rank, group size and the
/// indices of the samples of this process's share (the same contiguous slice the step computed), flushed at once so
/// that a process killed mid-run leaves every line of a step it completed. Used to check that distributed training
/// uses every sample of every batch exactly once.
/// </summary>
sealed class TrainingSampleLog : IDisposable
{
    readonly StreamWriter _writer;

    TrainingSampleLog(StreamWriter writer) => _writer = writer;

    /// <summary>The log at <paramref name="path"/>, continued when <paramref name="append"/> (a resumed run); null
    /// when there is no path (no log asked for).</summary>
    public static TrainingSampleLog? OpenOrNull(string? path, bool append)
    {
        if (path is null) return null;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return new TrainingSampleLog(new StreamWriter(path, append) { AutoFlush = true });
    }

    public void Write(long step, int epoch, ReadOnlySpan<int> batch, (int Rank, int Size) place)
    {
        var (offset, end) = Trainer.ShareOf(batch.Length, place.Rank, place.Size);
        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{step}\t{epoch}\t{place.Rank}\t{place.Size}\t{string.Join(',', batch[offset..end].ToArray())}"));
    }

    public void Dispose() => _writer.Dispose();
}
