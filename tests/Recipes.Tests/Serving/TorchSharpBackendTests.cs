using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;
using Recipes.Serving;

namespace Recipes.Tests.Serving;

public class TorchSharpBackendTests
{
    [Fact]
    public async Task Each_copy_runs_with_its_own_libtorch_thread_count()
    {
        // torch.set_num_threads sets the calling thread's OpenMP count (and a process-wide default for threads that
        // never set one): a copy that sets it on its own thread keeps it while another copy sets a different one.
        int testThreadCount = torch.get_num_threads();
        var seen = new ConcurrentDictionary<int, ConcurrentBag<int>>();
        try
        {
            using var model = new InferenceModel(copy =>
            {
                var module = TinyConvNet.Build();
                return new TorchSharpBackend(TinyConvNet.Signature(), inputs =>
                {
                    seen.GetOrAdd(copy, _ => []).Add(torch.get_num_threads());
                    return [module.forward(inputs[0])];
                }, module, intraOpThreads: copy + 1);
            }, new InferenceOptions(2, MaxBatch: 1));
            await Task.WhenAll(Enumerable.Range(0, 40).Select(caller => Task.Run(() => model.InferAsync([TinyConvNet.Images(caller)]))));
        }
        finally
        {
            torch.set_num_threads(testThreadCount);
        }
        Assert.All(seen[0], threads => Assert.Equal(1, threads));
        Assert.All(seen[1], threads => Assert.Equal(2, threads));
        Assert.True(seen[0].Count >= 2 && seen[1].Count >= 2, $"copies ran {seen[0].Count} and {seen[1].Count} forwards");
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
