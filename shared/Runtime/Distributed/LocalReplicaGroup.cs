using TorchSharp.Modules;

namespace Recipes.Runtime.Distributed;

/// <summary>
/// The in-process half of data parallelism: N identical model replicas, each fed its share of the global
/// batch on its own thread. After the backward pass the replicas' gradients are averaged into replica 0
/// (weighted by how many samples each saw, so an uneven split gives exactly the full-batch gradient), the
/// optimizer steps replica 0 once, and its weights are copied back to the others. Every replica therefore
/// holds the same weights at the start of every step, which is what makes local[N] equal local[1].
/// </summary>
public sealed class LocalReplicaGroup : IDisposable
{
    readonly Parameter[][] _parameters;
    readonly Tensor[][] _buffers;

    public LocalReplicaGroup(Func<nn.Module<Tensor, Tensor>> createModel, LocalMaster master)
    {
        Master = master;
        var models = new List<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < master.Replicas; i++) models.Add(createModel());
        Models = models;
        _parameters = models.Select(model => model.parameters().ToArray()).ToArray();
        _buffers = models.Select(model => model.buffers().ToArray()).ToArray();
        for (int i = 1; i < models.Count; i++)
            if (_parameters[i].Length != _parameters[0].Length)
                throw new InvalidOperationException("the model factory built replicas with different parameter lists");
        Threads = new ReplicaThreads(master.Replicas);
        // libtorch's OpenMP thread count is a per-thread setting: set it on each replica's own thread,
        // or every replica would use all cores and N replicas would oversubscribe them N times.
        Threads.Run(_ => torch.set_num_threads(master.IntraOpThreadsPerReplica));
        CopyMasterWeightsToReplicas();
    }

    public LocalMaster Master { get; }
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Models { get; }

    /// <summary>Replica 0: the one the optimizer updates, saved and used for prediction.</summary>
    public nn.Module<Tensor, Tensor> MasterModel => Models[0];
    public IReadOnlyList<Parameter> MasterParameters => _parameters[0];
    public ReplicaThreads Threads { get; }

    /// <summary>Replaces replica 0's gradients by the weighted sum of all replicas' gradients.
    /// <paramref name="sampleShares"/>[r] is the fraction of the global batch replica r processed.</summary>
    public void AverageGradientsIntoMaster(ReadOnlySpan<double> sampleShares)
    {
        using var noGrad = no_grad();
        for (int p = 0; p < _parameters[0].Length; p++)
        {
            var target = _parameters[0][p].grad;
            if (target is null) continue;
            if (sampleShares[0] != 1.0) target.mul_(sampleShares[0]);
            for (int r = 1; r < Models.Count; r++)
            {
                var gradient = _parameters[r][p].grad;
                if (gradient is not null && sampleShares[r] != 0) target.add_(gradient, alpha: sampleShares[r]);
            }
        }
    }

    /// <summary>Copies replica 0's parameters to every other replica, and averages floating-point buffers
    /// (batch-norm running statistics, which each replica updated on its own share) across all.</summary>
    public void SynchroniseReplicas()
    {
        if (Models.Count == 1) return;
        using var noGrad = no_grad();
        for (int b = 0; b < _buffers[0].Length; b++)
        {
            var master = _buffers[0][b];
            if (!master.is_floating_point()) continue;
            for (int r = 1; r < Models.Count; r++) master.add_(_buffers[r][b]);
            master.div_(Models.Count);
        }
        CopyMasterWeightsToReplicas();
    }

    void CopyMasterWeightsToReplicas()
    {
        using var noGrad = no_grad();
        for (int r = 1; r < Models.Count; r++)
        {
            for (int p = 0; p < _parameters[0].Length; p++) _parameters[r][p].copy_(_parameters[0][p]);
            for (int b = 0; b < _buffers[0].Length; b++) _buffers[r][b].copy_(_buffers[0][b]);
        }
    }

    public void Dispose()
    {
        Threads.Dispose();
        foreach (var model in Models) model.Dispose();
    }
}
