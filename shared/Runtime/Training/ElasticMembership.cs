using Recipes.Runtime.Distributed;

namespace Recipes.Runtime.Training;

/// <summary>
/// A <see cref="Trainer"/>'s part in an elastic process group's protocol. When training starts it joins the group and
/// may be handed another member's state (it is new, or its checkpoint is older than the most advanced member's); at
/// every later epoch boundary it lets newcomers in, offering them the state they are to start from. If the group fails
/// for good at a boundary, the completed epochs are kept in a checkpoint (when checkpoints are on).
/// </summary>
sealed class ElasticMembership(IElasticProcessGroup group, TrainingCheckpoints checkpoints)
{
    public static ElasticMembership? For(TrainerSettings settings, TrainingCheckpoints checkpoints) =>
        settings.Processes is IElasticProcessGroup group ? new ElasticMembership(group, checkpoints) : null;

    /// <summary>Joins the group before the first step. Returns the state to continue from when the group hands this
    /// process one, null when it continues from <paramref name="own"/>.</summary>
    public byte[]? JoinAtStart(CheckpointPosition own, bool resuming)
    {
        byte[]? adopted = group.AtEpochBoundary(trainingStarts: true, () => checkpoints.Capture(own));
        // A resumed job: the members' checkpoints may not all be equally recent; the most advanced one wins.
        if (adopted is null && resuming) adopted = group.AgreeOnResumedState(own.Iteration, () => checkpoints.Capture(own));
        return adopted;
    }

    /// <summary>Between two epochs: newcomers join here, each starting from <paramref name="boundary"/>.</summary>
    public void AtEpochBoundary(CheckpointPosition boundary)
    {
        try
        {
            group.AtEpochBoundary(trainingStarts: false, () => checkpoints.Capture(boundary));
        }
        catch (IOException error) when (checkpoints.Enabled)
        {
            throw checkpoints.SaveOnGroupFailure(error, boundary);
        }
    }
}
