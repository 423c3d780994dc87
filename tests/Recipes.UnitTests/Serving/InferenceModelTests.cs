using System.Collections.Concurrent;
using Recipes.Serving;
using Xunit.Abstractions;

namespace Recipes.Tests.Serving;

public class InferenceModelTests(ITestOutputHelper output)
{
    // Batching changes the shapes libtorch's kernels see (GEMM blocking, vectorised tails), so a row's result in a
    // batch may differ from the same row alone in the last bits, never more (measured: see the test output).
    // 1e-5 relative (to the largest score of the row, at least 1) leaves room across machines and thread counts.
    const double BatchingTolerance = 1e-5;

    static InferenceModel TinyModel(int copies = 1, int maxBatch = 32, double maxDelayMs = 2, int queueCapacity = 256, int imageSize = 16) =>
        new(_ => TinyConvNet.Backend(imageSize), new InferenceOptions(copies, maxBatch, TimeSpan.FromMilliseconds(maxDelayMs), queueCapacity));

    static float[] Scores(IReadOnlyList<NamedTensor> outputs) => Assert.Single(outputs).Floats!;

    /// <summary>Each request's scores computed alone, one request at a time, without batching.</summary>
    static async Task<List<float[]>> OneAtATime(IEnumerable<NamedTensor> requests)
    {
        using var unbatched = TinyModel(maxBatch: 1);
        var scores = new List<float[]>();
        foreach (var request in requests) scores.Add(Scores(await unbatched.InferAsync([request])));
        return scores;
    }

    static double MaxRelativeDifference(float[] actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1, expected.Max(Math.Abs));
        return actual.Zip(expected, (a, e) => Math.Abs(a - e) / scale).Max();
    }

    [Fact]
    public async Task Concurrent_callers_share_forwards_and_each_gets_its_own_rows_equal_to_one_at_a_time()
    {
        // 16 callers, 1 to 3 rows each, every one a distinct seeded input; they arrive together.
        var requests = Enumerable.Range(0, 16).Select(caller => TinyConvNet.Images(caller, rows: 1 + caller % 3)).ToList();
        var expected = await OneAtATime(requests);

        // A wide batching delay: CI runs these tests beside training processes on 2 cores, where 16 thread-pool callers
        // can start tens of milliseconds apart; the assertion is about sharing, not latency.
        using var model = TinyModel(maxBatch: 32, maxDelayMs: 200);
        var batches = new ConcurrentQueue<int>();
        model.BatchRan += (rows, _) => batches.Enqueue(rows);
        using var start = new ManualResetEventSlim();
        var callers = requests.Select(r => Task.Run(async () => { start.Wait(); return await model.InferAsync([r]); })).ToList();
        start.Set();
        var answers = await Task.WhenAll(callers);

        double worst = 0;
        for (int caller = 0; caller < requests.Count; caller++)
        {
            var answer = Assert.Single(answers[caller]);
            Assert.Equal("scores", answer.Name);
            Assert.Equal([requests[caller].Shape[0], 5L], answer.Shape);
            worst = Math.Max(worst, MaxRelativeDifference(answer.Floats!, expected[caller]));
        }
        output.WriteLine($"rows per forward: {string.Join(", ", batches)}; max relative difference batched vs alone: {worst:E2}");
        Assert.True(worst <= BatchingTolerance, $"batched results differ from one-at-a-time by {worst:E2} relative");
        Assert.Equal(requests.Sum(r => r.Shape[0]), batches.Sum());
        // More than 3 rows (the largest request) in one forward: at least two callers shared it.
        Assert.True(batches.Max() > 3, $"16 callers arriving together never shared a forward: rows per forward {string.Join(", ", batches)}");
        Assert.All(batches, rows => Assert.InRange(rows, 1, 32));
    }

    [Fact]
    public async Task Rows_of_different_callers_never_mix_across_many_batches_and_copies()
    {
        // Two copies, batches of at most 4 rows, 200 requests: every answer must be its own input's, row for row.
        var requests = Enumerable.Range(0, 40).Select(caller => TinyConvNet.Images(caller, rows: 1 + caller % 2)).ToList();
        var expected = await OneAtATime(requests);
        using var model = TinyModel(copies: 2, maxBatch: 4, maxDelayMs: 1);
        var batches = new ConcurrentQueue<int>();
        model.BatchRan += (rows, _) => batches.Enqueue(rows);
        var calls = Enumerable.Range(0, 200).Select(i => Task.Run(() => model.InferAsync([requests[i % 40]]))).ToList();
        var answers = await Task.WhenAll(calls);
        for (int i = 0; i < 200; i++)
            Assert.True(MaxRelativeDifference(Scores(answers[i]), expected[i % 40]) <= BatchingTolerance, $"request {i} got someone else's rows");
        Assert.All(batches, rows => Assert.InRange(rows, 1, 4));
        Assert.Equal(300, batches.Sum());
    }

    [Fact]
    public async Task MaxBatch_one_runs_every_request_alone()
    {
        using var model = TinyModel(maxBatch: 1, maxDelayMs: 20);
        var batches = new ConcurrentQueue<int>();
        model.BatchRan += (rows, _) => batches.Enqueue(rows);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(caller => model.InferAsync([TinyConvNet.Images(caller)])));
        Assert.Equal(Enumerable.Repeat(1, 8), batches);
    }

    [Fact]
    public async Task A_full_queue_refuses_with_ServiceBusy_and_the_model_keeps_working()
    {
        GatedBackend? gated = null;
        using var model = new InferenceModel(_ => gated = new GatedBackend(TinyConvNet.Backend()), new InferenceOptions(1, MaxBatch: 1, QueueCapacity: 3));
        var expected = await OneAtATime(Enumerable.Range(0, 6).Select(caller => TinyConvNet.Images(caller)));
        gated!.Close();
        var running = model.InferAsync([TinyConvNet.Images(0)]);
        gated.WaitUntilAForwardStarts();
        var waiting = Enumerable.Range(1, 3).Select(caller => model.InferAsync([TinyConvNet.Images(caller)])).ToList();
        Assert.Equal(3, model.QueueLength);

        var busy = await Assert.ThrowsAsync<ServiceBusyException>(() => model.InferAsync([TinyConvNet.Images(4)]));
        Assert.Equal("model 'tiny' is busy: 3 requests are already waiting; retry later", busy.Message);
        Assert.Equal(3, model.QueueLength);

        gated.Open();
        Assert.True(MaxRelativeDifference(Scores(await running), expected[0]) <= BatchingTolerance);
        for (int i = 0; i < 3; i++)
            Assert.True(MaxRelativeDifference(Scores(await waiting[i]), expected[i + 1]) <= BatchingTolerance);
        Assert.Equal(0, model.QueueLength);
        Assert.True(MaxRelativeDifference(Scores(await model.InferAsync([TinyConvNet.Images(5)])), expected[5]) <= BatchingTolerance);
    }

    [Fact]
    public async Task A_cancelled_waiting_request_leaves_the_queue_and_is_never_computed()
    {
        GatedBackend? gated = null;
        using var model = new InferenceModel(_ => gated = new GatedBackend(TinyConvNet.Backend()), new InferenceOptions(1, MaxBatch: 8, QueueCapacity: 4));
        var batches = new ConcurrentQueue<int>();
        model.BatchRan += (rows, _) => batches.Enqueue(rows);
        gated!.Close();
        var running = model.InferAsync([TinyConvNet.Images(0)]);
        gated.WaitUntilAForwardStarts();
        using var giveUp = new CancellationTokenSource();
        var cancelled = model.InferAsync([TinyConvNet.Images(1, rows: 3)], giveUp.Token);
        var kept = model.InferAsync([TinyConvNet.Images(2)]);
        Assert.Equal(2, model.QueueLength);

        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, model.QueueLength);

        gated.Open();
        await running;
        await kept;
        // The running request, then the one kept: the cancelled request's 3 rows were never computed.
        Assert.Equal([1, 1], batches);
        Assert.True(model.InferAsync([TinyConvNet.Images(3)], giveUp.Token).IsCanceled);
        Assert.Equal(0, model.QueueLength);
    }

    [Fact]
    public async Task Bad_requests_get_one_line_InvalidInput_errors_and_the_model_keeps_working()
    {
        using var model = TinyModel();
        async Task<string> Error(params NamedTensor[] inputs) => (await Assert.ThrowsAsync<InvalidInputException>(() => model.InferAsync(inputs))).Message;

        Assert.Equal("model 'tiny' takes inputs [image]; the request has none", await Error());
        Assert.Equal("model 'tiny' has no input named 'picture' (its inputs: image)",
            await Error(new NamedTensor("picture", [1, 3, 16, 16], Floats: new float[768])));
        Assert.Equal("input 'image' must be FP32, got INT64", await Error(new NamedTensor("image", [1, 3, 16, 16], Longs: new long[768])));
        Assert.Equal("input 'image' must have shape [-1,3,16,16] (batch first), got [1,3,16,15]",
            await Error(new NamedTensor("image", [1, 3, 16, 15], Floats: new float[720])));
        Assert.Equal("input 'image' must have shape [-1,3,16,16] (batch first), got [3,16,16]",
            await Error(new NamedTensor("image", [3, 16, 16], Floats: new float[768])));
        Assert.Equal("input 'image' has 767 values for shape [1,3,16,16] (768 expected)",
            await Error(new NamedTensor("image", [1, 3, 16, 16], Floats: new float[767])));
        Assert.Equal("input 'image' has an empty batch (shape [0,3,16,16])", await Error(new NamedTensor("image", [0, 3, 16, 16], Floats: [])));
        Assert.Equal("input 'image' is given more than once", await Error(TinyConvNet.Images(0), TinyConvNet.Images(1)));
        Assert.Equal("input 'image' has no values", await Error(new NamedTensor("image", [1, 3, 16, 16])));
        Assert.Equal(0, model.QueueLength);

        var good = Assert.Single(await model.InferAsync([TinyConvNet.Images(7, rows: 2)]));
        Assert.Equal([2L, 5], good.Shape);
    }

    [Fact]
    public async Task A_model_with_two_inputs_checks_each_and_batches_them_together()
    {
        // Two inputs (FP32 features and INT64 ids) of one model: batched output rows must follow each request's rows.
        var signature = new ModelSignature("pair", "1", "torchsharp",
            [new TensorSpec("features", TensorDatatype.FP32, [-1, 2]), new TensorSpec("ids", TensorDatatype.INT64, [-1])],
            [new TensorSpec("sum", TensorDatatype.FP32, [-1])]);
        using var model = new InferenceModel(
            _ => new TorchSharpBackend(signature, inputs => [inputs[0].sum(1) + inputs[1].to_type(TorchSharp.torch.ScalarType.Float32) * 100]),
            new InferenceOptions(1, MaxBatch: 16, MaxDelay: TimeSpan.FromMilliseconds(20)));
        var batches = new ConcurrentQueue<int>();
        model.BatchRan += (rows, _) => batches.Enqueue(rows);
        // Inputs given in the other order than the signature's: matched by name.
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(caller => model.InferAsync([
            new NamedTensor("ids", [2], Longs: [caller, caller + 10]),
            new NamedTensor("features", [2, 2], Floats: [caller, 0.5f, 1, 2]),
        ])));
        for (int caller = 0; caller < 6; caller++)
            Assert.Equal([caller + 0.5f + caller * 100, 3 + (caller + 10) * 100], Scores(answers[caller]));
        Assert.Equal(12, batches.Sum());

        Assert.Equal("input 'ids' is missing (model 'pair' takes features, ids)",
            (await Assert.ThrowsAsync<InvalidInputException>(() => model.InferAsync([new NamedTensor("features", [1, 2], Floats: [1, 2])]))).Message);
        Assert.Equal("inputs 'features' and 'ids' have different batch sizes (1 and 2)",
            (await Assert.ThrowsAsync<InvalidInputException>(() => model.InferAsync(
                [new NamedTensor("features", [1, 2], Floats: [1, 2]), new NamedTensor("ids", [2], Longs: [1, 2])]))).Message);
    }

    [Fact]
    public async Task Dispose_lets_the_running_forwards_deliver_cancels_the_waiting_and_stops_every_thread()
    {
        var copies = new ConcurrentBag<GatedBackend>();
        var model = new InferenceModel(_ => { var g = new GatedBackend(TinyConvNet.Backend()); copies.Add(g); return g; }, new InferenceOptions(2, MaxBatch: 1));
        Assert.Equal(2, model.RunningCopies);
        foreach (var copy in copies) copy.Close();
        var running = Enumerable.Range(0, 2).Select(caller => model.InferAsync([TinyConvNet.Images(caller)])).ToList();
        foreach (var copy in copies) copy.WaitUntilAForwardStarts();
        var waiting = Enumerable.Range(2, 3).Select(caller => model.InferAsync([TinyConvNet.Images(caller)])).ToList();
        Assert.Equal(3, model.QueueLength);

        var disposing = Task.Run(model.Dispose);
        foreach (var request in waiting)
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(disposing.IsCompleted, "Dispose returned while forwards were still running");

        foreach (var copy in copies) copy.Open();
        await disposing.WaitAsync(TimeSpan.FromSeconds(30));
        foreach (var request in running)
        {
            var answer = Assert.Single(await request);
            Assert.Equal([1L, 5], answer.Shape);
        }
        Assert.Equal(0, model.RunningCopies);
        Assert.All(copies, copy => Assert.True(copy.Disposed));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => model.InferAsync([TinyConvNet.Images(9)]));
        model.Dispose();
    }

    [Fact]
    public void A_copy_that_fails_to_load_fails_the_constructor_and_the_others_are_stopped_and_disposed()
    {
        var loaded = new ConcurrentBag<GatedBackend>();
        var error = Assert.Throws<InvalidOperationException>(() => new InferenceModel(copy =>
        {
            if (copy == 1) throw new InvalidOperationException("weights missing for copy 1");
            var g = new GatedBackend(TinyConvNet.Backend());
            loaded.Add(g);
            return g;
        }, new InferenceOptions(3)));
        Assert.Equal("weights missing for copy 1", error.Message);
        Assert.Equal(2, loaded.Count);
        Assert.All(loaded, copy => Assert.True(copy.Disposed));
    }

    [Fact]
    public void Every_copy_is_warmed_up_with_one_forward_at_load()
    {
        var copies = new ConcurrentBag<GatedBackend>();
        using var model = new InferenceModel(_ => { var g = new GatedBackend(TinyConvNet.Backend()); copies.Add(g); return g; }, new InferenceOptions(3));
        Assert.Equal(3, copies.Count);
        Assert.All(copies, copy => Assert.Equal(1, copy.Forwards));
        Assert.Equal(3, model.RunningCopies);
        Assert.Equal(0, model.QueueLength);
    }

    [Fact]
    public void Default_copies_share_the_cores_without_oversubscribing_them()
    {
        foreach (int cores in new[] { 1, 2, 4, 8, 16, 64 })
        {
            int copies = InferenceOptions.DefaultCopies(cores);
            Assert.InRange(copies, 1, cores);
            Assert.True(copies * InferenceOptions.IntraOpThreadsPerCopy(copies, cores) <= cores);
        }
        Assert.Equal(1, InferenceOptions.DefaultCopies(2));
        Assert.Equal(4, InferenceOptions.DefaultCopies(16));
        Assert.Equal(TimeSpan.FromMilliseconds(2), new InferenceOptions(1).BatchDelay);
        Assert.Throws<ArgumentOutOfRangeException>(() => new InferenceModel(_ => TinyConvNet.Backend(), new InferenceOptions(0)));
    }
}
