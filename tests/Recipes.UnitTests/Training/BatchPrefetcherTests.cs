using System.Collections.Concurrent;
using Recipes.Mnist;
using Recipes.Runtime.Data;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.Tests.Training;

[Collection(ProcessWideState.Name)] // the Trainer seeds libtorch's generator; same seeds, same weights is checked
public sealed class BatchPrefetcherTests
{
    static InMemoryBatchSource RandomSet(int count, int seed)
    {
        using var generator = new Generator().manual_seed(seed);
        var inputs = randn([count, 1, 28, 28], generator: generator);
        var targets = inputs.mean([1, 2, 3]).gt(0).to(ScalarType.Int64) + inputs[.., 0, 0, 0].gt(0).to(ScalarType.Int64) * 2;
        return new InMemoryBatchSource(inputs, targets);
    }

    /// <summary>Batches of 3 parts (the last one empty when the batch is short) over a shuffled order.</summary>
    static List<PlannedBatch> Plan(int count, int batch)
    {
        int[] order = Trainer.EpochOrder(count, seed: 3, epoch: 1);
        var plan = new List<PlannedBatch>();
        for (int start = 0, step = 0; start < count; start += batch, step++)
        {
            int[] indices = order[start..Math.Min(count, start + batch)];
            int third = indices.Length / 3;
            plan.Add(new PlannedBatch(1000 + step, [indices[..third], indices[third..(2 * third)], indices[(2 * third)..]]));
        }
        return plan;
    }

    /// <summary>Records every read: the thread, the step seed the source saw, the indices; can fail at one read, can
    /// be held at every read until released, and keeps the tensors it made so a test can see whether they were freed.</summary>
    sealed class ObservedSource(IBatchSource inner, int failAtRead = -1) : IBatchSource
    {
        public readonly ConcurrentQueue<(long Seed, int[] Indices)> Reads = new();
        public readonly ConcurrentBag<Thread> Threads = [];
        public readonly ConcurrentQueue<Tensor> Made = new();
        int _reads;

        public int Count => inner.Count;
        public int ReadCount => Volatile.Read(ref _reads);

        public (Tensor Input, Tensor Target) GetBatch(ReadOnlySpan<int> indices)
        {
            int read = Interlocked.Increment(ref _reads) - 1;
            Threads.Add(Thread.CurrentThread);
            if (read == failAtRead) throw new DataFileException("/data/digit-7.png", "is not a PNG file (first bytes 00 00 00 00)");
            Reads.Enqueue((BatchSeed.Current, indices.ToArray()));
            var (input, target) = inner.GetBatch(indices);
            Made.Enqueue(input);
            Made.Enqueue(target);
            return (input, target);
        }
    }

    static void WaitUntil(Func<bool> condition, string what)
    {
        // A bound, not a timing: the condition normally holds within milliseconds.
        for (int i = 0; i < 2000 && !condition(); i++) Thread.Sleep(5);
        Assert.True(condition(), $"gave up waiting until {what}");
    }

    [Fact]
    public void Prefetched_batches_come_in_plan_order_with_the_same_content_as_direct_reads()
    {
        using var data = RandomSet(203, seed: 1);
        var plan = Plan(203, batch: 32);
        var observed = new ObservedSource(data);
        using var prefetcher = new BatchPrefetcher(observed, plan, depth: 2);
        int steps = 0;
        while (prefetcher.Next() is { } prepared)
        {
            using (prepared)
            {
                Assert.Same(plan[steps], prepared.Plan);
                for (int part = 0; part < 3; part++)
                {
                    if (plan[steps].Parts[part].Length == 0) continue;
                    using var scope = NewDisposeScope();
                    var (input, target) = data.GetBatch(plan[steps].Parts[part]);
                    var (aheadInput, aheadTarget) = prepared.Part(part);
                    // Reading is copying: prefetched and direct batches are the same bytes.
                    Assert.True(input.shape.SequenceEqual(aheadInput.shape) && input.eq(aheadInput).all().item<bool>(), $"step {steps} part {part}: inputs differ");
                    Assert.True(target.shape.SequenceEqual(aheadTarget.shape) && target.eq(aheadTarget).all().item<bool>(), $"step {steps} part {part}: targets differ");
                }
            }
            steps++;
        }
        Assert.Equal(plan.Count, steps);
        // Each batch was read under its own step's seed, on the prefetch thread.
        Assert.Equal(plan.SelectMany(p => p.Parts.Where(part => part.Length > 0).Select(_ => p.Seed)), observed.Reads.Select(r => r.Seed));
        Assert.All(observed.Threads, thread => Assert.Equal("batch-prefetch", thread.Name));
        WaitUntil(() => !prefetcher.IsReading, "the prefetch thread ends after the plan");
    }

    [Fact]
    public void A_read_error_comes_out_of_Next_as_itself_after_the_batches_read_before_it()
    {
        using var data = RandomSet(100, seed: 2);
        var plan = Plan(100, batch: 20); // 5 steps of 3 parts: read 7 is step 2, part 1
        using var prefetcher = new BatchPrefetcher(new ObservedSource(data, failAtRead: 7), plan, depth: 3);
        using (var first = prefetcher.Next()) Assert.Same(plan[0], first!.Plan);
        using (var second = prefetcher.Next()) Assert.Same(plan[1], second!.Plan);
        var error = Assert.Throws<DataFileException>(() => prefetcher.Next());
        Assert.Equal("/data/digit-7.png: is not a PNG file (first bytes 00 00 00 00)", error.Message);
        WaitUntil(() => !prefetcher.IsReading, "the prefetch thread ends after the error");
    }

    [Fact]
    public void The_prefetch_thread_reads_at_most_depth_batches_ahead_plus_the_one_in_hand()
    {
        using var data = RandomSet(640, seed: 3);
        var plan = Plan(640, batch: 30).Select(p => p with { Parts = [p.Parts[0]] }).ToList(); // one read per batch
        var observed = new ObservedSource(data);
        using var prefetcher = new BatchPrefetcher(observed, plan, depth: 3);
        WaitUntil(() => observed.ReadCount == 3 + 1, "the queue is full and one more batch is read");
        Thread.Sleep(200); // a thread ignoring the bound would have read on by now (plan: 22 batches)
        Assert.Equal(4, observed.ReadCount);
        Assert.Equal(3, prefetcher.Waiting);

        // Taking one frees one place: exactly one more read follows.
        prefetcher.Next()!.Dispose();
        WaitUntil(() => observed.ReadCount == 5, "one more batch is read");
        Thread.Sleep(200);
        Assert.Equal(5, observed.ReadCount);
    }

    [Fact]
    public void Dispose_mid_plan_stops_the_thread_and_frees_every_batch_not_handed_out()
    {
        using var data = RandomSet(640, seed: 4);
        var observed = new ObservedSource(data);
        var prefetcher = new BatchPrefetcher(observed, Plan(640, batch: 32), depth: 2);
        var taken = prefetcher.Next()!;
        WaitUntil(() => prefetcher.Waiting == 2, "two batches wait");
        prefetcher.Dispose();

        Assert.False(prefetcher.IsReading);
        Assert.True(observed.ReadCount < 20 * 3, "the whole plan was read before Dispose");
        var takenTensors = Enumerable.Range(0, 3).SelectMany(p => new[] { taken.Part(p).Input, taken.Part(p).Target }).ToHashSet();
        Assert.All(observed.Made.Where(t => !takenTensors.Contains(t)), tensor => Assert.True(tensor.IsInvalid, "a batch read ahead was not freed"));
        Assert.All(takenTensors, tensor => Assert.False(tensor.IsInvalid, "the consumer's batch was freed under it"));
        taken.Dispose();
        Assert.All(takenTensors, tensor => Assert.True(tensor.IsInvalid));
        Assert.Throws<ObjectDisposedException>(() => prefetcher.Next());
    }

    static (float[] Weights, List<(long Seed, string Indices)> Reads, ObservedSource Source) Train(InMemoryBatchSource data, int prefetch,
        CancellationToken cancellation = default, IReadOnlyList<ITrainingObserver>? observers = null)
    {
        var observed = new ObservedSource(data);
        using var trainer = new Trainer(() => new LeNet5(4), parameters => optim.Adam(parameters, lr: 0.002),
            (output, target) => nn.functional.cross_entropy(output, target),
            new TrainerSettings
            {
                GlobalBatchSize = 64, Epochs = 2, Seed = 5, Master = LocalMaster.Parse("local[2]", cores: 2), PrefetchBatches = prefetch,
                Observers = observers ?? [],
            });
        trainer.Fit(observed, cancellation: cancellation);
        float[] weights = trainer.Model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
        // Replicas read concurrently: compare reads as a set per step seed, not in arrival order.
        var reads = observed.Reads.Select(r => (r.Seed, string.Join(',', r.Indices))).Order().ToList();
        return (weights, reads, observed);
    }

    [Fact]
    public void Training_with_batches_read_ahead_reads_the_same_batches_under_the_same_seeds_and_reaches_the_same_weights()
    {
        using var data = RandomSet(299, seed: 6); // 299: a short last batch, uneven replica splits
        var direct = Train(data, prefetch: 0);
        var ahead = Train(data, prefetch: 3);
        Assert.Equal(direct.Reads, ahead.Reads);
        Assert.Contains(ahead.Source.Threads, thread => thread.Name == "batch-prefetch");
        Assert.DoesNotContain(direct.Source.Threads, thread => thread.Name == "batch-prefetch");
        // Same process, same threads and the same bytes in every batch: only the thread that copied the batch
        // differs, so the weights agree to float rounding (1e-6 allows for nothing else to differ).
        double difference = direct.Weights.Zip(ahead.Weights, (a, b) => (double)Math.Abs(a - b)).Max();
        Assert.True(difference <= 1e-6, $"max weight difference {difference}");
    }

    sealed class CancelAfter(CancellationTokenSource cancel, long iterations) : ITrainingObserver
    {
        public void IterationCompleted(IterationReport report)
        {
            if (report.Iteration == iterations) cancel.Cancel();
        }
    }

    [Fact]
    public void Training_stopped_mid_epoch_leaves_no_prefetch_thread_running()
    {
        using var data = RandomSet(640, seed: 7);
        using var cancel = new CancellationTokenSource();
        var (_, reads, source) = Train(data, prefetch: 2, cancel.Token, [new CancelAfter(cancel, 3)]);
        Assert.True(reads.Count < 20, $"training went on after the stop ({reads.Count} reads)");
        var producers = source.Threads.Where(thread => thread.Name == "batch-prefetch").Distinct().ToList();
        Assert.NotEmpty(producers);
        Assert.All(producers, thread => Assert.False(thread.IsAlive, "a prefetch thread is still running"));
    }

    [Fact]
    public void A_read_error_in_training_with_prefetch_ends_Fit_with_the_original_error()
    {
        using var data = RandomSet(300, seed: 8);
        var failing = new ObservedSource(data, failAtRead: 5);
        using var trainer = new Trainer(() => new LeNet5(4), parameters => optim.Adam(parameters, lr: 0.002),
            (output, target) => nn.functional.cross_entropy(output, target),
            new TrainerSettings { GlobalBatchSize = 64, Epochs = 1, Seed = 5, Master = LocalMaster.Parse("local[2]", cores: 2) });
        var error = Assert.Throws<DataFileException>(() => trainer.Fit(failing));
        Assert.Equal("/data/digit-7.png: is not a PNG file (first bytes 00 00 00 00)", error.Message);
    }

    [Fact]
    public void Evaluation_with_batches_read_ahead_reads_every_sample_once_and_scores_as_direct_reads_do()
    {
        using var data = RandomSet(301, seed: 9);
        var scores = new List<IReadOnlyDictionary<string, double>>();
        var reads = new List<List<int>>();
        foreach (int prefetch in new[] { 0, 2 })
        {
            var observed = new ObservedSource(data);
            using var trainer = new Trainer(() => new LeNet5(4), parameters => optim.Adam(parameters, lr: 0.002),
                (output, target) => nn.functional.cross_entropy(output, target),
                new TrainerSettings { GlobalBatchSize = 64, Epochs = 1, Seed = 5, Master = LocalMaster.Parse("local[2]", cores: 2), PrefetchBatches = prefetch });
            scores.Add(trainer.Evaluate(observed, [new Top1Accuracy(), new LossValidation((o, t) => nn.functional.cross_entropy(o, t))], batchSize: 50));
            reads.Add(observed.Reads.SelectMany(r => r.Indices).Order().ToList());
        }
        Assert.All(reads, read => Assert.Equal(Enumerable.Range(0, 301), read));
        Assert.Equal(scores[0]["accuracy"], scores[1]["accuracy"]);
        // The same weights on the same bytes; 1e-6 allows for the order the replicas' sums are added in.
        Assert.Equal(scores[0]["loss"], scores[1]["loss"], 1e-6);
    }
}
