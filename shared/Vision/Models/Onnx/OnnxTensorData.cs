using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Recipes.Runtime.Data;

namespace Recipes.Runtime.Models.Onnx;

/// <summary>
/// The values of an ONNX <see cref="TensorProto"/> (an initializer or a constant) as 32-bit floats,
/// whichever of the schema's two encodings the exporter chose: little-endian <c>raw_data</c> bytes or the
/// typed <c>float_data</c> list.
/// </summary>
public static class OnnxTensorData
{
    public static long ElementCount(this TensorProto tensor) => tensor.Dims.Aggregate(1L, (product, d) => product * d);

    /// <param name="sourcePath">the model file, named in errors</param>
    public static float[] ToFloats(this TensorProto tensor, string sourcePath)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
            throw new DataFileException(sourcePath, $"tensor '{tensor.Name}' has data type {(TensorProto.Types.DataType)tensor.DataType}, expected FLOAT");
        long count = tensor.ElementCount();
        float[] values;
        if (tensor.HasRawData)
        {
            var bytes = tensor.RawData.Span;
            if (bytes.Length != count * sizeof(float))
                throw new DataFileException(sourcePath, $"tensor '{tensor.Name}' has {bytes.Length} bytes of data for {count} floats of shape [{string.Join(",", tensor.Dims)}]");
            values = new float[count];
            if (BitConverter.IsLittleEndian)
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
            else
                for (int i = 0; i < values.Length; i++)
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * sizeof(float), sizeof(float)));
        }
        else
        {
            if (tensor.FloatData.Count != count)
                throw new DataFileException(sourcePath, $"tensor '{tensor.Name}' has {tensor.FloatData.Count} floats for shape [{string.Join(",", tensor.Dims)}]");
            values = tensor.FloatData.ToArray();
        }
        return values;
    }

    /// <summary>A new CPU tensor of the initializer's shape holding a copy of its values.</summary>
    public static Tensor ToTorchTensor(this TensorProto tensor, string sourcePath) =>
        torch.tensor(tensor.ToFloats(sourcePath), tensor.Dims.ToArray());
}
