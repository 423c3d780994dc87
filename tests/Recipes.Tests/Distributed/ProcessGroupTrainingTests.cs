using System.Net;
using System.Security.Cryptography;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Distributed.Ring;
using Recipes.Runtime.Models;
using Recipes.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.Distributed;

/// <summary>The trainer's process-group path: trainers joined by a TCP ring (here on threads of one process)
/// reach the weights of one trainer over the whole batch.</summary>
public sealed class ProcessGroupTrainingTests
{
    static InMemoryBatchSource SyntheticDigits(int count, int seed)
    {
        using var generator = new Generator().manual_seed(seed);
        var inputs = randn([count, 1, 28, 28], generator: generator);
        var targets = inputs.mean([1, 2, 3]).gt(0).to(ScalarType.Int64) + inputs[.., 0, 0, 0].gt(0).to(ScalarType.Int64) * 2;
        return new InMemoryBatchSource(inputs, targets);
    }

    static float[] Train(IProcessGroup processes, IBatchSource data)
    {
        using var trainer = new Trainer(() => new LeNet5(4), parameters => optim.SGD(parameters, 0.05, momentum: 0.9),
            (output, target) => nn.functional.cross_entropy(output, target),
            new TrainerSettings { GlobalBatchSize = 64, Epochs = 2, Seed = 7, Master = LocalMaster.Parse("local[1]", cores: 1), Processes = processes });
        var result = trainer.Fit(data);
        Assert.Equal(2 * 9, result.Iterations);
        return trainer.Model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Trainers_summing_gradients_over_a_ring_match_one_trainer(int size)
    {
        using var data = SyntheticDigits(547, seed: 3); // 547: uneven shares in every batch
        float[] expected = Train(SingleProcess.Instance, data);

        var listeners = Enumerable.Range(0, size).Select(_ => new RingListener(IPAddress.Loopback)).ToArray();
        byte[] key = RandomNumberGenerator.GetBytes(RingAllReduce.KeyBytes);
        var results = new float[size][];
        var failures = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() =>
        {
            try
            {
                using var ring = RingAllReduce.Form(listeners[rank], rank, listeners.Select(l => l.EndPoint).ToArray(), 1, key);
                results[rank] = Train(new FixedRingGroup(ring), data);
            }
            catch (Exception error)
            {
                failures[rank] = error;
            }
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) Assert.True(thread.Join(TimeSpan.FromSeconds(120)), "the ring of trainers did not finish");
        foreach (var listener in listeners) listener.Dispose();
        Assert.All(failures, failure => Assert.Null(failure));

        for (int rank = 0; rank < size; rank++)
        {
            double difference = expected.Zip(results[rank], (a, b) => Math.Abs(a - b)).Max();
            Assert.True(difference < 1e-5, $"rank {rank} of {size}: max weight difference {difference}");
            Assert.Equal(results[0], results[rank]); // every process applies the same summed gradient
        }
    }
}
