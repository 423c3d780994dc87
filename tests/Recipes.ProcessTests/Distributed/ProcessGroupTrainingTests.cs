using System.Net;
using System.Security.Cryptography;
using Recipes.Mnist;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Distributed.Ring;
using Recipes.Runtime.Training;
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

    // Built on the test thread, one after the other: a trainer seeds libtorch's process-wide generator and draws
    // its initial weights from it, so trainers built concurrently would start from different weights.
    static Trainer NewTrainer(IProcessGroup processes) =>
        new(() => new LeNet5(4), parameters => optim.SGD(parameters, 0.05, momentum: 0.9),
            (output, target) => nn.functional.cross_entropy(output, target),
            new TrainerSettings { GlobalBatchSize = 64, Epochs = 2, Seed = 7, Master = LocalMaster.Parse("local[1]", cores: 1), Processes = processes });

    static float[] Train(Trainer trainer, IBatchSource data)
    {
        var result = trainer.Fit(data);
        Assert.Equal(2 * 9, result.Iterations);
        return trainer.Model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
    }

    /// <summary>The group of a ring that is formed on first use, on the training thread.</summary>
    sealed class LazyRing(Func<RingAllReduce> form) : IProcessGroup, IDisposable
    {
        readonly Lazy<RingAllReduce> _ring = new(form);
        public required int ExpectedRank { get; init; }
        public required int ExpectedSize { get; init; }
        public int Rank => ExpectedRank;
        public int Size => ExpectedSize;
        public void SumInPlace(Memory<float> values) => _ring.Value.SumInPlace(values);
        public void Dispose()
        {
            if (_ring.IsValueCreated) _ring.Value.Dispose();
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Trainers_summing_gradients_over_a_ring_match_one_trainer(int size)
    {
        using var data = SyntheticDigits(547, seed: 3); // 547: uneven shares in every batch
        float[] expected;
        IReadOnlyDictionary<string, double> expectedScores;
        using (var alone = NewTrainer(SingleProcess.Instance))
        {
            expected = Train(alone, data);
            expectedScores = alone.Evaluate(data, Methods);
        }

        var listeners = Enumerable.Range(0, size).Select(_ => new RingListener(IPAddress.Loopback)).ToArray();
        byte[] key = RandomNumberGenerator.GetBytes(RingAllReduce.KeyBytes);
        var groups = Enumerable.Range(0, size).Select(rank => new LazyRing(
            () => RingAllReduce.Form(listeners[rank], rank, listeners.Select(l => l.EndPoint).ToArray(), 1, key)) { ExpectedRank = rank, ExpectedSize = size }).ToArray();
        var trainers = groups.Select(NewTrainer).ToArray();
        var results = new float[size][];
        var scores = new IReadOnlyDictionary<string, double>[size];
        var evaluated = Enumerable.Range(0, size).Select(_ => new RecordingSource(data)).ToArray();
        var failures = new Exception?[size];
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() =>
        {
            try
            {
                results[rank] = Train(trainers[rank], data);
                scores[rank] = trainers[rank].Evaluate(evaluated[rank], Methods);
            }
            catch (Exception error)
            {
                failures[rank] = error;
            }
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) Assert.True(thread.Join(TimeSpan.FromSeconds(120)), "the ring of trainers did not finish");
        foreach (var trainer in trainers) trainer.Dispose();
        foreach (var group in groups) group.Dispose();
        foreach (var listener in listeners) listener.Dispose();
        Assert.All(failures, failure => Assert.Null(failure));

        for (int rank = 0; rank < size; rank++)
        {
            double difference = expected.Zip(results[rank], (a, b) => Math.Abs(a - b)).Max();
            Assert.True(difference < 1e-5, $"rank {rank} of {size}: max weight difference {difference}");
            Assert.Equal(results[0], results[rank]); // every process applies the same summed gradient
            // Each process evaluated only its share, and every process got the scores of the whole set.
            Assert.Equal(expectedScores["accuracy"], scores[rank]["accuracy"], 12);
            Assert.Equal(expectedScores["loss"], scores[rank]["loss"], 5);
        }
        int[] all = evaluated.SelectMany(e => e.Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, data.Count), all.Order());
        Assert.All(evaluated, e => Assert.InRange(e.Indices.Count, data.Count / size, data.Count / size + 1));
    }

    static readonly IValidationMethod[] Methods = [new Top1Accuracy(), new LossValidation((output, target) => nn.functional.cross_entropy(output, target))];

    /// <summary>A data set that records which samples were asked of it.</summary>
    sealed class RecordingSource(IBatchSource inner) : IBatchSource
    {
        public List<int> Indices { get; } = [];
        public int Count => inner.Count;
        public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
        {
            lock (Indices) Indices.AddRange(indices.ToArray());
            return inner.GetBatch(indices);
        }
    }
}
