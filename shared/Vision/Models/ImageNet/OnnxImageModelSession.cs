using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Recipes.Runtime.Data;
using Recipes.Runtime.Models.Onnx;
using DenseOnnxTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace Recipes.Runtime.Models.ImageNet;

/// <summary>
/// An ONNX Runtime session over a model with one image input [1, C, H, W] and one output. The ImageNet
/// models fix the batch dimension at 1, so by default a batch is run one image at a time and the outputs
/// stacked; with <c>batchSize</c> above 1 the model's batch dimension is made symbolic before loading and
/// up to that many images go through in one call.
/// </summary>
public sealed class OnnxImageModelSession : IImageFeatureExtractor
{
    readonly InferenceSession _session;
    readonly string _inputName, _outputName;
    readonly int[] _inputShape;
    readonly int[] _outputShape;

    /// <param name="intraOpThreads">ONNX Runtime's threads per operator; 0 lets it choose (all cores)</param>
    /// <param name="batchSize">images per call; above 1 the model's fixed batch dimension is made symbolic</param>
    public OnnxImageModelSession(string onnxPath, int intraOpThreads = 0, int batchSize = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (!File.Exists(onnxPath)) throw new DataFileException(onnxPath, "ONNX model file not found");
        BatchSize = batchSize;
        using var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = 1 };
        try
        {
            if (batchSize == 1)
                _session = new InferenceSession(onnxPath, options);
            else
            {
                var model = OnnxModelFile.Read(onnxPath);
                model.MakeBatchDimensionSymbolic();
                _session = new InferenceSession(model.ToByteArray(), options);
            }
        }
        catch (OnnxRuntimeException error)
        {
            throw new DataFileException(onnxPath, $"ONNX Runtime cannot load it: {error.Message}", error);
        }
        if (_session.InputMetadata.Count != 1 || _session.OutputMetadata.Count != 1)
        {
            _session.Dispose();
            throw new DataFileException(onnxPath, "expected one input and one output");
        }
        (_inputName, var input) = _session.InputMetadata.Single();
        (_outputName, var output) = _session.OutputMetadata.Single();
        // A symbolic dimension reads as -1: the per-image shapes have 1 there.
        _inputShape = input.Dimensions.Select(d => Math.Max(d, 1)).ToArray();
        _outputShape = output.Dimensions.Select(d => Math.Max(d, 1)).ToArray();
        if (_inputShape.Length != 4 || _inputShape[0] != 1)
        {
            _session.Dispose();
            throw new DataFileException(onnxPath, $"expected an input of shape [1, C, H, W], found [{string.Join(",", input.Dimensions)}]");
        }
        Description = $"ONNX Runtime, {Path.GetFileName(onnxPath)}";
    }

    public string Description { get; }

    /// <summary>Images per call to ONNX Runtime.</summary>
    public int BatchSize { get; }

    /// <summary>Values per image in the output (512 for the ResNet-18 features).</summary>
    public int FeatureLength => _outputShape.Skip(1).Aggregate(1, (product, d) => product * d);

    public IReadOnlyList<int> InputShape => _inputShape;
    public IReadOnlyList<int> OutputShape => _outputShape;

    /// <summary>Runs one image [C*H*W floats] and returns the output's values.</summary>
    public float[] Run(ReadOnlySpan<float> image) => RunBatch(image.ToArray(), 1);

    /// <summary>Runs <paramref name="count"/> images stored one after another; returns their outputs likewise.</summary>
    float[] RunBatch(float[] images, int count)
    {
        int length = _inputShape.Aggregate(1, (product, d) => product * d);
        if (images.Length != length * count)
            throw new ArgumentException($"expected {length} input values per image for shape [{string.Join(",", _inputShape)}], got {images.Length} for {count}");
        int[] shape = [count, .. _inputShape.Skip(1)];
        var input = new DenseOnnxTensor(images, shape);
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_inputName, input)]);
        return results.Single(r => r.Name == _outputName).AsEnumerable<float>().ToArray();
    }

    /// <summary>[N, C, H, W] to [N, output values per image], flattening the output's non-batch dimensions.</summary>
    public Tensor Extract(Tensor preprocessedImages)
    {
        var shape = preprocessedImages.shape;
        if (shape.Length != 4 || shape[1] != _inputShape[1] || shape[2] != _inputShape[2] || shape[3] != _inputShape[3])
            throw new ArgumentException($"expected images of shape [N, {_inputShape[1]}, {_inputShape[2]}, {_inputShape[3]}], got [{string.Join(", ", shape)}]");
        int count = (int)shape[0];
        using var contiguous = preprocessedImages.to_type(ScalarType.Float32).contiguous();
        float[] all = contiguous.data<float>().ToArray();
        int perImage = all.Length / Math.Max(count, 1);
        var outputs = new float[count * FeatureLength];
        for (int start = 0; start < count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, count - start);
            RunBatch(all[(start * perImage)..((start + n) * perImage)], n).CopyTo(outputs, start * FeatureLength);
        }
        return torch.tensor(outputs, [count, FeatureLength]);
    }

    public void Dispose() => _session.Dispose();
}
