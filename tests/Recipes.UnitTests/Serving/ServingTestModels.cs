using Recipes.Serving;
using static TorchSharp.torch;

namespace Recipes.Tests.Serving;

/// <summary>
/// A small real convolutional network for the serving tests: conv 3x3 (3 -> 8 channels), ReLU, global average pool,
/// linear 8 -> 5. Its weights come from its own seeded generator, so every copy is the same model without touching
/// libtorch's global generator (copies are built on their own threads at the same time).
/// </summary>
static class TinyConvNet
{
    public static ModelSignature Signature(int imageSize = 16) => new("tiny", "1", "torchsharp",
        [new TensorSpec("image", TensorDatatype.FP32, [-1, 3, imageSize, imageSize])],
        [new TensorSpec("scores", TensorDatatype.FP32, [-1, 5])]);

    public static nn.Module<Tensor, Tensor> Build()
    {
        var module = nn.Sequential(
            ("conv", nn.Conv2d(3, 8, 3)), ("relu", nn.ReLU()), ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("linear", nn.Linear(8, 5)));
        using var generator = new Generator().manual_seed(11);
        using (no_grad())
            foreach (var parameter in module.parameters())
                using (var values = randn(parameter.shape, generator: generator) * 0.5)
                    parameter.copy_(values);
        return module;
    }

    public static TorchSharpBackend Backend(int imageSize = 16, int intraOpThreads = 0) =>
        TorchSharpBackend.ForModule(Signature(imageSize), Build(), intraOpThreads);

    /// <summary>A distinct seeded input of <paramref name="rows"/> images for caller <paramref name="caller"/>.</summary>
    public static NamedTensor Images(int caller, int rows = 1, int imageSize = 16)
    {
        var random = new Random(1000 + caller);
        var values = new float[rows * 3 * imageSize * imageSize];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 4 - 2);
        return new NamedTensor("image", [rows, 3, imageSize, imageSize], Floats: values);
    }
}

/// <summary>
/// A real backend whose forwards can be held at a gate, so a test can keep a copy busy and fill the queue behind it
/// without relying on timing. The warm-up forward at load passes freely.
/// </summary>
sealed class GatedBackend(IInferenceBackend inner) : IInferenceBackend
{
    readonly ManualResetEventSlim _gate = new(true);
    readonly SemaphoreSlim _entered = new(0);

    public ModelSignature Signature => inner.Signature;
    public bool Disposed { get; private set; }
    public int Forwards { get; private set; }

    public void Close() => _gate.Reset();
    public void Open() => _gate.Set();

    /// <summary>Waits until a forward has started (and is held at the closed gate).</summary>
    public void WaitUntilAForwardStarts()
    {
        if (!_entered.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("no forward started within 30 s");
    }

    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> batchInputs)
    {
        Forwards++;
        if (!_gate.IsSet) _entered.Release();
        if (!_gate.Wait(TimeSpan.FromSeconds(60))) throw new TimeoutException("the test never opened the gate");
        return inner.Run(batchInputs);
    }

    public void Dispose()
    {
        Disposed = true;
        inner.Dispose();
    }
}
