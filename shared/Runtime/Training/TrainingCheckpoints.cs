using Recipes.Runtime.Data;
using Recipes.Runtime.Distributed;

namespace Recipes.Runtime.Training;

/// <summary>
/// A <see cref="Trainer"/>'s training state as checkpoints: saved to <see cref="TrainerSettings.CheckpointFolder"/> when
/// its triggers fire, loaded for <see cref="TrainerSettings.Resume"/>, and the same bytes handed to (or taken from) the
/// other members of a process group. A state is accepted only from a run with the same seed, global batch, sample
/// count and data, since anything else would continue a different training as if it were this one.
/// </summary>
sealed class TrainingCheckpoints(TrainerSettings settings, LocalReplicaGroup replicas, optim.Optimizer optimizer)
{
    /// <summary>The checkpoint file; null when checkpoints are off.</summary>
    public string? FilePath { get; } =
        settings.CheckpointFolder is null ? null : Path.Combine(settings.CheckpointFolder, TrainingCheckpoint.FileName);

    public bool Enabled => FilePath is not null;

    /// <summary>Whether this process has a checkpoint of its own to resume from.</summary>
    public bool ExistsHere => FilePath is not null && File.Exists(FilePath);

    /// <summary>What the current fit trains on: recorded in every state saved, compared with every state loaded.</summary>
    public DataFingerprint? Data { get; set; }

    public CheckpointPosition Resume(int sampleCount)
    {
        string path = FilePath ?? throw new InvalidOperationException("--resume needs a checkpoint folder");
        var position = TrainingCheckpoint.Load(path, replicas.MasterModel, optimizer);
        if (!SameRun(position, sampleCount))
            throw new DataFileException(path,
                $"checkpoint was made with seed {position.Seed}, batch {position.GlobalBatchSize}, {position.SampleCount} samples; " +
                $"this run has seed {settings.Seed}, batch {settings.GlobalBatchSize}, {sampleCount} samples");
        if (DataDifference(position) is string difference)
            throw new DataFileException(path,
                $"the checkpoint was trained on other data than this run's ({difference}): it was trained on {position.Data}; " +
                $"this run has {Data}. Resume with the data it was trained on, or train from the start (without --resume, or with another --output)");
        Apply(position);
        return position;
    }

    /// <summary>A newcomer to a process group takes over a member's weights, optimizer state and position.</summary>
    public CheckpointPosition Adopt(byte[] state, int sampleCount)
    {
        const string origin = "the training state received from the process group";
        using var stream = new MemoryStream(state, writable: false);
        var position = TrainingCheckpoint.Load(stream, origin, replicas.MasterModel, optimizer);
        if (!SameRun(position, sampleCount))
            throw new DataFileException(origin,
                $"it comes from a run with seed {position.Seed}, batch {position.GlobalBatchSize}, {position.SampleCount} samples; " +
                $"this process has seed {settings.Seed}, batch {settings.GlobalBatchSize}, {sampleCount} samples");
        if (DataDifference(position) is string difference)
            throw new DataFileException(origin, $"it comes from a run on other data ({difference}): {position.Data}; this process has {Data}");
        Apply(position);
        return position;
    }

    public void Save(CheckpointPosition position) =>
        TrainingCheckpoint.Save(FilePath ?? throw new InvalidOperationException("checkpoints are off (no checkpoint folder)"),
            WithScheduleAndData(position), replicas.MasterModel, optimizer);

    /// <summary>The state a checkpoint would hold, in memory, for a process group's newcomer.</summary>
    public byte[] Capture(CheckpointPosition position) =>
        TrainingCheckpoint.ToBytes(WithScheduleAndData(position), replicas.MasterModel, optimizer);

    /// <summary>The process group failed for good (a cluster worker lost its driver): keep every completed step in
    /// a checkpoint, and say so in the error the caller reports.</summary>
    public IOException SaveOnGroupFailure(IOException error, CheckpointPosition lastCompleted)
    {
        Save(lastCompleted);
        return new IOException($"{error.Message} (saved a checkpoint after step {lastCompleted.Iteration}: start the job again with --resume to continue from it)", error);
    }

    bool SameRun(CheckpointPosition position, int sampleCount) =>
        position.Seed == settings.Seed && position.GlobalBatchSize == settings.GlobalBatchSize && position.SampleCount == sampleCount;

    string? DataDifference(CheckpointPosition position) =>
        position.Data is not null && Data is not null ? position.Data.DifferenceFrom(Data) : null;

    void Apply(CheckpointPosition position)
    {
        if (position.ScheduleState.Count > 0) settings.Schedule?.RestoreState(position.ScheduleState);
        replicas.SynchroniseReplicas();
    }

    CheckpointPosition WithScheduleAndData(CheckpointPosition position) =>
        position with { ScheduleState = settings.Schedule?.SaveState().ToDictionary() ?? new Dictionary<string, double>(), Data = Data };
}
