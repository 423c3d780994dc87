using Microsoft.ML.OnnxRuntime;
using DenseOnnxTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Recipes.Runtime.Data;

namespace Recipes.Runtime.Models.ImageNet;

/// <summary>
/// An ONNX Runtime session over a model with one image input [1, C, H, W] and one output. The ImageNet
/// models fix the batch dimension at 1, so a batch is run one image at a time and the outputs stacked.
/// </summary>
public sealed class OnnxImageModelSession : IImageFeatureExtractor
{
    readonly InferenceSession _session;
    readonly string _inputName, _outputName;
    readonly int[] _inputShape;
    readonly int[] _outputShape;

    /// <param name="intraOpThreads">ONNX Runtime's threads per operator; 0 lets it choose (all cores)</param>
    public OnnxImageModelSession(string onnxPath, int intraOpThreads = 0)
    {
        if (!File.Exists(onnxPath)) throw new DataFileException(onnxPath, "ONNX model file not found");
        using var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = 1 };
        try
        {
            _session = new InferenceSession(onnxPath, options);
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

    /// <summary>Values per image in the output (512 for the ResNet-18 features).</summary>
    public int FeatureLength => _outputShape.Skip(1).Aggregate(1, (product, d) => product * d);

    public IReadOnlyList<int> InputShape => _inputShape;
    public IReadOnlyList<int> OutputShape => _outputShape;

    /// <summary>Runs one image [C*H*W floats] and returns the output's values.</summary>
    public float[] Run(ReadOnlySpan<float> image)
    {
        int length = _inputShape.Aggregate(1, (product, d) => product * d);
        if (image.Length != length)
            throw new ArgumentException($"expected {length} input values for shape [{string.Join(",", _inputShape)}], got {image.Length}");
        var input = new DenseOnnxTensor(image.ToArray(), _inputShape);
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
        for (int i = 0; i < count; i++)
            Run(all.AsSpan(i * perImage, perImage)).CopyTo(outputs, i * FeatureLength);
        return torch.tensor(outputs, [count, FeatureLength]);
    }

    public void Dispose() => _session.Dispose();
}
