using Recipes.Runtime.Data;
using Recipes.Runtime.Models.Onnx;
using TorchSharp.Modules;

namespace Recipes.Runtime.Models.ResNet;

/// <summary>
/// Imports a basic-block ResNet from an ONNX graph into TorchSharp. Nothing about the architecture is
/// assumed: the importer walks the graph from its input (Conv, BatchNormalization, Relu, MaxPool, then
/// one residual block per Add, then a global AveragePool), reads every convolution's kernel, stride and
/// (possibly asymmetric) padding into a <see cref="ResNetLayout"/>, builds that network and copies the
/// convolution weights and batch-norm scale, bias, mean and variance into it. A graph that does anything
/// else (a node the walk does not visit, a bias, dilation, groups, differing epsilons) is refused with
/// an error naming the node, rather than imported approximately.
/// </summary>
public static class ResNetOnnxImporter
{
    /// <summary>A layout and where each of its convolutions' weights live in the graph.</summary>
    public sealed record GraphReading(ResNetLayout Layout, IReadOnlyList<(NodeProto Convolution, NodeProto BatchNorm)> Weights,
        string InputName, string OutputName, long[] InputDimensions);

    public static Sequential Import(string onnxPath)
    {
        var model = OnnxModelFile.Read(onnxPath);
        var reading = ReadGraph(model, onnxPath);
        var backbone = ResNetBackbone.Build(reading.Layout);
        try
        {
            LoadWeights(backbone, model.Graph, reading, onnxPath);
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
        backbone.eval();
        return backbone;
    }

    public static GraphReading ReadGraph(ModelProto model, string path) => new GraphWalk(model.Graph, path).Read();

    static void LoadWeights(Sequential backbone, GraphProto graph, GraphReading reading, string path)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var convolutions = ResNetBackbone.Convolutions(backbone).ToList();
        if (convolutions.Count != reading.Weights.Count)
            throw new InvalidOperationException($"built {convolutions.Count} convolutions for {reading.Weights.Count} in the graph");
        using var noGrad = no_grad();
        for (int i = 0; i < convolutions.Count; i++)
        {
            var (convNode, bnNode) = reading.Weights[i];
            var target = convolutions[i];
            CopyInto(target.Convolution.weight!, initializers, convNode.Input[1], convNode, path);
            CopyInto(target.BatchNorm.weight!, initializers, bnNode.Input[1], bnNode, path);
            CopyInto(target.BatchNorm.bias!, initializers, bnNode.Input[2], bnNode, path);
            CopyInto(target.BatchNorm.running_mean!, initializers, bnNode.Input[3], bnNode, path);
            CopyInto(target.BatchNorm.running_var!, initializers, bnNode.Input[4], bnNode, path);
        }
    }

    static void CopyInto(Tensor target, Dictionary<string, TensorProto> initializers, string name, NodeProto node, string path)
    {
        if (!initializers.TryGetValue(name, out var initializer))
            throw node.Unexpected(path, $"input '{name}' is not an initializer (a constant weight)");
        if (initializer.ElementCount() != target.numel() || (initializer.Dims.Count == target.dim() && !initializer.Dims.SequenceEqual(target.shape)))
            throw node.Unexpected(path, $"initializer '{name}' has shape [{string.Join(",", initializer.Dims)}], expected [{string.Join(",", target.shape)}]");
        using var values = initializer.ToTorchTensor(path);
        target.copy_(values.reshape(target.shape));
    }

    /// <summary>One pass over the graph from its input to its output, marking every node it explains.</summary>
    sealed class GraphWalk
    {
        readonly GraphProto _graph;
        readonly string _path;
        readonly Dictionary<string, List<NodeProto>> _consumers = new();
        readonly HashSet<string> _initializers;
        readonly HashSet<NodeProto> _visited = new(ReferenceEqualityComparer.Instance);
        readonly List<(NodeProto, NodeProto)> _weights = [];
        double? _epsilon;

        public GraphWalk(GraphProto graph, string path)
        {
            _graph = graph;
            _path = path;
            _initializers = graph.Initializer.Select(t => t.Name).ToHashSet();
            foreach (var node in graph.Node)
                foreach (string input in node.Input)
                {
                    if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                    list.Add(node);
                }
        }

        public GraphReading Read()
        {
            // Before IR version 4 every initializer was also listed as a graph input: the data input is the other one.
            var inputs = _graph.Input.Where(i => !_initializers.Contains(i.Name)).ToList();
            if (inputs.Count != 1)
                throw new DataFileException(_path, $"expected one image input, the graph has {inputs.Count}: {string.Join(", ", inputs.Select(i => i.Name))}");
            var input = inputs[0];
            long[] inputDimensions = input.Dimensions();
            if (inputDimensions.Length != 4)
                throw new DataFileException(_path, $"input '{input.Name}' has {inputDimensions.Length} dimensions, expected [N, C, H, W]");

            var (stemSpec, stemOutput, stemWeights) = ConvolutionAndBatchNorm(Single(input.Name, "Conv"));
            _weights.Add(stemWeights);
            var pool = Single(Single(stemOutput, "Relu").Output[0], "MaxPool");
            ExpectSquare(pool, "kernel_shape");
            ExpectSquare(pool, "strides");
            int poolKernel = (int)pool.Ints("kernel_shape", [])[0];
            int poolStride = (int)pool.Ints("strides", [1, 1])[0];
            var poolPadding = SidePadding.FromOnnxPads(pool.Ints("pads", [0, 0, 0, 0]));
            if (pool.Text("auto_pad", "NOTSET") != "NOTSET")
                throw pool.Unexpected(_path, "auto_pad is not supported; explicit pads are");

            var blocks = new List<BasicBlockSpec>();
            string current = pool.Output[0];
            NodeProto? averagePool = null;
            while (averagePool is null)
            {
                var next = Consumers(current);
                if (next.Count == 1 && next[0].OpType is "AveragePool" or "GlobalAveragePool")
                {
                    averagePool = Visit(next[0]);
                    break;
                }
                (var block, current) = ResidualBlock(current, next);
                blocks.Add(block);
            }

            var stages = new List<IReadOnlyList<BasicBlockSpec>>();
            foreach (var block in blocks)
            {
                if (stages.Count == 0 || block.Projection is not null) stages.Add(new List<BasicBlockSpec>());
                ((List<BasicBlockSpec>)stages[^1]).Add(block);
            }
            if (stages.Count == 0)
                throw new DataFileException(_path, "no residual blocks between the max pool and the average pool");
            var layout = new ResNetLayout(stemSpec, poolKernel, poolStride, poolPadding, stages, _epsilon ?? 1e-5);
            CheckGlobalAveragePool(averagePool, layout, inputDimensions);

            if (!_graph.Output.Any(o => o.Name == averagePool.Output[0]))
                throw averagePool.Unexpected(_path, "its output is not the graph's output");
            var unexplained = _graph.Node.Where(n => !_visited.Contains(n)).ToList();
            if (unexplained.Count > 0)
                throw unexplained[0].Unexpected(_path, $"{unexplained.Count} node(s) are not part of a basic-block ResNet, starting with this one");
            return new GraphReading(layout, _weights, input.Name, averagePool.Output[0], inputDimensions);
        }

        (BasicBlockSpec Block, string Output) ResidualBlock(string input, IReadOnlyList<NodeProto> consumers)
        {
            var convolutions = consumers.Where(n => n.OpType == "Conv").ToList();
            var adds = consumers.Where(n => n.OpType == "Add").ToList();
            if (convolutions.Count + adds.Count != consumers.Count || convolutions.Count is < 1 or > 2 || adds.Count > 1)
                throw consumers[0].Unexpected(_path, $"expected a residual block reading '{input}', found {string.Join(", ", consumers.Select(c => c.OpType))}");

            ConvolutionSpec? first = null, second = null, projection = null;
            string? mainOutput = null, projectionOutput = null;
            (NodeProto, NodeProto)? firstWeights = null, secondWeights = null, projectionWeights = null;
            foreach (var convolution in convolutions)
            {
                var (spec, output, weights) = ConvolutionAndBatchNorm(convolution);
                var after = Consumers(output);
                if (after.Count == 1 && after[0].OpType == "Relu")
                {
                    (first, firstWeights) = (spec, weights);
                    (second, mainOutput, secondWeights) = ConvolutionAndBatchNorm(Single(Visit(after[0]).Output[0], "Conv"));
                }
                else
                {
                    (projection, projectionOutput, projectionWeights) = (spec, output, weights);
                }
            }
            if (first is null || second is null || mainOutput is null)
                throw convolutions[0].Unexpected(_path, "no Conv-BatchNormalization-Relu-Conv-BatchNormalization main path in this residual block");
            string shortcut = projectionOutput ?? input;
            if (projection is null && adds.Count != 1)
                throw convolutions[0].Unexpected(_path, "a block without a projection must add its input to the main path");
            var add = Single(mainOutput, "Add");
            if (!(add.Input.Count == 2 && add.Input.Contains(mainOutput) && add.Input.Contains(shortcut)))
                throw add.Unexpected(_path, $"expected it to add '{mainOutput}' and '{shortcut}'");
            var relu = Single(add.Output[0], "Relu");
            // The same order as BasicBlock.Convolutions, whatever order the exporter wrote the nodes in.
            _weights.Add(firstWeights!.Value);
            _weights.Add(secondWeights!.Value);
            if (projectionWeights is { } projectionPair) _weights.Add(projectionPair);
            return (new BasicBlockSpec(first, second, projection), relu.Output[0]);
        }

        (ConvolutionSpec Spec, string Output, (NodeProto, NodeProto) Weights) ConvolutionAndBatchNorm(NodeProto convolution)
        {
            Visit(convolution);
            if (convolution.Input.Count != 2)
                throw convolution.Unexpected(_path, "convolutions with a bias are not supported (the batch norm after it carries the bias)");
            if (convolution.Int("group", 1) != 1 || convolution.Ints("dilations", [1, 1]).Any(d => d != 1))
                throw convolution.Unexpected(_path, "grouped or dilated convolutions are not supported");
            if (convolution.Text("auto_pad", "NOTSET") != "NOTSET")
                throw convolution.Unexpected(_path, "auto_pad is not supported; explicit pads are");
            ExpectSquare(convolution, "kernel_shape");
            ExpectSquare(convolution, "strides");
            var weight = _graph.Initializer.FirstOrDefault(t => t.Name == convolution.Input[1])
                ?? throw convolution.Unexpected(_path, $"weight '{convolution.Input[1]}' is not an initializer");
            if (weight.Dims.Count != 4)
                throw convolution.Unexpected(_path, $"weight '{weight.Name}' has shape [{string.Join(",", weight.Dims)}], expected 4 dimensions");
            var spec = new ConvolutionSpec(checked((int)weight.Dims[1]), checked((int)weight.Dims[0]), checked((int)weight.Dims[2]),
                (int)convolution.Ints("strides", [1, 1])[0], SidePadding.FromOnnxPads(convolution.Ints("pads", [0, 0, 0, 0])));

            var batchNorm = Single(convolution.Output[0], "BatchNormalization");
            if (batchNorm.Input.Count != 5)
                throw batchNorm.Unexpected(_path, $"expected 5 inputs (X, scale, B, mean, var), found {batchNorm.Input.Count}");
            if (batchNorm.Int("spatial", 1) != 1)
                throw batchNorm.Unexpected(_path, "only spatial batch normalisation (one statistic per channel) is supported");
            // The attribute is a 32-bit float: take its shortest decimal form (1E-05), not its binary expansion.
            double epsilon = double.Parse(batchNorm.Float("epsilon", 1e-5f).ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
            if (_epsilon is { } previous && previous != epsilon)
                throw batchNorm.Unexpected(_path, $"epsilon {epsilon} differs from the {previous} of earlier batch norms");
            _epsilon = epsilon;
            return (spec, batchNorm.Output[0], (convolution, batchNorm));
        }

        void CheckGlobalAveragePool(NodeProto averagePool, ResNetLayout layout, long[] inputDimensions)
        {
            if (averagePool.OpType == "GlobalAveragePool") return;
            if (inputDimensions[2] <= 0 || inputDimensions[3] <= 0)
                throw averagePool.Unexpected(_path, "the input size is not fixed, so a fixed AveragePool kernel cannot be checked to be global");
            var (height, width) = layout.FeatureMapSize(inputDimensions[2], inputDimensions[3]);
            long[] kernel = averagePool.Ints("kernel_shape", []);
            bool unpadded = averagePool.Ints("pads", [0, 0, 0, 0]).All(p => p == 0);
            if (kernel.Length != 2 || kernel[0] != height || kernel[1] != width || !unpadded)
                throw averagePool.Unexpected(_path, $"kernel [{string.Join(",", kernel)}] is not a global pool over the {height}x{width} feature map of a {inputDimensions[2]}x{inputDimensions[3]} input");
        }

        void ExpectSquare(NodeProto node, string attribute)
        {
            long[] values = node.Ints(attribute, [1, 1]);
            if (values.Length != 2 || values[0] != values[1])
                throw node.Unexpected(_path, $"{attribute} [{string.Join(",", values)}] is not square (2-d, equal sides)");
        }

        IReadOnlyList<NodeProto> Consumers(string value) =>
            _consumers.TryGetValue(value, out var list) ? list : throw new DataFileException(_path, $"nothing reads '{value}': the graph ends before its output");

        NodeProto Single(string value, string opType)
        {
            var consumers = Consumers(value);
            if (consumers.Count != 1 || consumers[0].OpType != opType)
                throw new DataFileException(_path, $"expected '{value}' to be read by one {opType} node, found {string.Join(", ", consumers.Select(c => c.Describe()))}");
            return Visit(consumers[0]);
        }

        NodeProto Visit(NodeProto node)
        {
            _visited.Add(node);
            return node;
        }
    }
}
