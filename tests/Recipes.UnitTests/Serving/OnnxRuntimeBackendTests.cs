using Recipes.Runtime.Data;
using Recipes.Serving;
using Recipes.Tests.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Recipes.Tests.Serving;

[Collection(ImageNetCollection.Name)]
public class OnnxRuntimeBackendTests(ImageNetFixture imageNet, ITestOutputHelper output)
{
    /// <summary>Four preprocessed photographs (or the fixture's seeded stand-ins), one request each.</summary>
    List<NamedTensor> Photos()
    {
        using var scope = NewDisposeScope();
        using var rgb = SamplePhotos.Rgb224(4);
        var preprocessed = imageNet.Preprocessing.Apply(rgb).contiguous();
        return Enumerable.Range(0, 4).Select(i =>
            new NamedTensor("Input247", [1, 3, 224, 224], Floats: preprocessed[i].data<float>().ToArray())).ToList();
    }

    static float[] Features(IReadOnlyList<NamedTensor> outputs) => Assert.Single(outputs).Floats!;

    static double MaxAbsoluteDifference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    [Fact]
    public void Reads_the_signature_from_the_file_with_the_fixed_batch_made_symbolic()
    {
        using var backend = new OnnxRuntimeBackend(imageNet.ModelPath, "resnet18", "7", intraOpThreads: 1);
        var signature = backend.Signature;
        Assert.Equal(("resnet18", "7", "onnxruntime_onnx"), (signature.Name, signature.Version, signature.Platform));
        var input = Assert.Single(signature.Inputs);
        Assert.Equal(("Input247", TensorDatatype.FP32), (input.Name, input.Datatype));
        Assert.Equal([-1L, 3, 224, 224], input.Shape);
        var features = Assert.Single(signature.Outputs);
        Assert.Equal(("Pooling395_Output_0", TensorDatatype.FP32), (features.Name, features.Datatype));
        Assert.Equal([-1L, 512, 1, 1], features.Shape);
    }

    [Fact]
    public async Task Batched_ONNX_Runtime_agrees_with_one_at_a_time_and_with_the_TorchSharp_backend()
    {
        var photos = Photos();
        var options = new InferenceOptions(1, MaxBatch: 8, MaxDelay: TimeSpan.FromMilliseconds(50));
        var batches = new List<int>();

        using var alone = new OnnxRuntimeBackend(imageNet.ModelPath, "resnet18", "1", intraOpThreads: 2);
        var oneAtATime = photos.Select(p => Features(alone.Run([p]))).ToList();

        List<float[]> onnxBatched;
        using (var onnx = new InferenceModel(_ => new OnnxRuntimeBackend(imageNet.ModelPath, "resnet18", "1", intraOpThreads: 2), options))
        {
            onnx.BatchRan += (rows, _) => batches.Add(rows);
            onnxBatched = (await Task.WhenAll(photos.Select(p => onnx.InferAsync([p])))).Select(Features).ToList();
        }

        // The fixture's imported backbone (not owned: the fixture disposes it), under the ONNX model's signature.
        List<float[]> torchBatched;
        var backbone = imageNet.Backbone;
        using (var torchModel = new InferenceModel(_ => new TorchSharpBackend(alone.Signature with { Platform = "torchsharp" },
                   inputs => [backbone.forward(inputs[0]).reshape(-1, 512, 1, 1)]), options))
        {
            torchBatched = (await Task.WhenAll(photos.Select(p => torchModel.InferAsync([p])))).Select(Features).ToList();
        }

        double batching = Enumerable.Range(0, 4).Max(i => MaxAbsoluteDifference(onnxBatched[i], oneAtATime[i]));
        double backends = Enumerable.Range(0, 4).Max(i => MaxAbsoluteDifference(torchBatched[i], onnxBatched[i]));
        double largest = oneAtATime.Max(f => f.Max(Math.Abs));
        output.WriteLine($"ONNX batches {string.Join(",", batches)}; largest feature {largest:F2}; " +
                         $"max |batched - alone| {batching:E2}; max |TorchSharp - ONNX Runtime| {backends:E2}");
        Assert.Contains(batches, rows => rows > 1);
        // Features reach ~10; batching reorders float sums in the convolutions, so 1e-5 relative to the largest one.
        Assert.True(batching <= 1e-5 * Math.Max(1, largest), $"ONNX Runtime batched vs alone: {batching:E2}");
        // The runtime's import test holds the two engines to 1e-3 on these features (different convolution algorithms).
        Assert.True(backends <= 1e-3, $"TorchSharp vs ONNX Runtime: {backends:E2}");
        Assert.All(oneAtATime, f => Assert.Equal(512, f.Length));
    }

    [Fact]
    public async Task Two_single_threaded_ONNX_copies_serve_concurrent_requests()
    {
        var photos = Photos();
        using var alone = new OnnxRuntimeBackend(imageNet.ModelPath, "resnet18", "1", intraOpThreads: 1);
        var expected = photos.Select(p => Features(alone.Run([p]))).ToList();
        using var model = new InferenceModel(_ => new OnnxRuntimeBackend(imageNet.ModelPath, "resnet18", "1", intraOpThreads: 1),
            new InferenceOptions(2, MaxBatch: 1));
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => model.InferAsync([photos[i % 4]]))));
        for (int i = 0; i < 8; i++)
            Assert.True(MaxAbsoluteDifference(Features(answers[i]), expected[i % 4]) <= 1e-4);
    }

    [Fact]
    public void A_missing_or_invalid_file_is_a_one_line_error_naming_it()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-such-model-{Guid.NewGuid():N}.onnx");
        var error = Assert.Throws<DataFileException>(() => new OnnxRuntimeBackend(missing, "m", "1", 1));
        Assert.Contains(missing, error.Message);
        string garbage = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(garbage, [0xff, 0x00, 0x13, 0x37, 0x42]);
            var invalid = Assert.Throws<DataFileException>(() => new OnnxRuntimeBackend(garbage, "m", "1", 1));
            Assert.Contains("not an ONNX model", invalid.Message);
            Assert.DoesNotContain('\n', invalid.Message);
        }
        finally
        {
            File.Delete(garbage);
        }
    }
}
