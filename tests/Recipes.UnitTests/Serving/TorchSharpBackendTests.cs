using System.Collections.Concurrent;
using Recipes.Serving;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.Serving;

[Collection(ProcessWideState.Name)] // sets libtorch's thread counts and checks them
public class TorchSharpBackendTests
{
    [Fact]
    public async Task Each_copy_runs_with_its_own_libtorch_thread_count()
    {
        // Each copy sets its count on its own thread; a copy's count must not follow what the other copy sets. The copies
        // load at the same moment, so the race this guards against (a thread's one-time initialisation taking the
        // process-wide default another copy just stored) may or may not happen in one load: five fresh pairs of threads.
        int testThreadCount = torch.get_num_threads();
        var seen = new ConcurrentDictionary<(int Round, int Copy), ConcurrentBag<int>>();
        try
        {
            for (int round = 0; round < 5; round++)
            {
                int thisRound = round;
                using var model = new InferenceModel(copy =>
                {
                    var module = TinyConvNet.Build();
                    return new TorchSharpBackend(TinyConvNet.Signature(), inputs =>
                    {
                        seen.GetOrAdd((thisRound, copy), _ => []).Add(torch.get_num_threads());
                        return [module.forward(inputs[0])];
                    }, module, intraOpThreads: copy + 1);
                }, new InferenceOptions(2, MaxBatch: 1));
                await Task.WhenAll(Enumerable.Range(0, 20).Select(caller => Task.Run(() => model.InferAsync([TinyConvNet.Images(caller)]))));
            }
        }
        finally
        {
            torch.set_num_threads(testThreadCount);
        }
        foreach (var ((round, copy), counts) in seen)
            Assert.True(counts.All(threads => threads == copy + 1),
                $"round {round}: copy {copy} was set to {copy + 1} threads and ran with {string.Join(",", counts.Distinct())}");
        Assert.Equal(10, seen.Count);
    }

    [Fact]
    public void Run_frees_every_tensor_it_makes_and_returns_outputs_in_the_declared_datatypes()
    {
        var signature = new ModelSignature("two-outputs", "1", "torchsharp",
            [new TensorSpec("x", TensorDatatype.FP32, [-1, 4])],
            [new TensorSpec("top", TensorDatatype.INT64, [-1]), new TensorSpec("doubled", TensorDatatype.FP32, [-1, 4])]);
        using var backend = new TorchSharpBackend(signature, inputs => [inputs[0].argmax(1), inputs[0].to_type(ScalarType.Float64) * 2]);
        var input = new NamedTensor("x", [2, 4], Floats: [1, 5, 2, 0, 9, 1, 1, 1]);
        backend.Run([input]);
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var outputs = backend.Run([input]);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal([1L, 0], outputs[0].Longs!);
        Assert.Equal([2L], outputs[0].Shape);
        Assert.Equal([2f, 10, 4, 0, 18, 2, 2, 2], outputs[1].Floats!);
        Assert.Equal(TensorDatatype.FP32, outputs[1].Datatype);
    }

    [Fact]
    public void A_module_is_put_in_eval_mode_and_disposed_with_the_backend()
    {
        var module = nn.Sequential(("dropout", nn.Dropout(0.5)), ("linear", nn.Linear(3, 2)));
        module.train();
        var signature = new ModelSignature("m", "1", "torchsharp", [new TensorSpec("x", TensorDatatype.FP32, [-1, 3])], [new TensorSpec("y", TensorDatatype.FP32, [-1, 2])]);
        var backend = TorchSharpBackend.ForModule(signature, module);
        Assert.False(module.training);
        var input = new NamedTensor("x", [1, 3], Floats: [1, 2, 3]);
        Assert.Equal(backend.Run([input])[0].Floats, backend.Run([input])[0].Floats);
        backend.Dispose();
        Assert.Throws<InvalidOperationException>(() => module.parameters().First().shape);
    }
}
