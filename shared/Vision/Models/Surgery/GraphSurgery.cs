using TorchSharp.Modules;

namespace Recipes.Runtime.Models.Surgery;

/// <summary>
/// Surgery on networks built as a chain of named layers (a <see cref="Sequential"/>, possibly nested, like
/// <see cref="ResNet.ResNetBackbone"/>): cut after a named layer, freeze everything up to a named layer, put
/// a new head on top. These are the seed's <c>new_graph(outputs=[...])</c> and <c>freeze_up_to([...])</c>.
/// A layer is named by its path: <c>layer3</c> is a whole stage, <c>layer3.1</c> the second block inside it.
/// <para>The results are new containers over the SAME modules (no weights are copied): disposing either the
/// source or the result disposes the shared modules, and disposing both is harmless.</para>
/// </summary>
public static class GraphSurgery
{
    /// <summary>Every layer path of <paramref name="model"/> in forward order, outer before inner:
    /// stem, layer1, layer1.0, layer1.1, layer2, ...</summary>
    public static IReadOnlyList<string> LayerNames(Sequential model)
    {
        var names = new List<string>();
        foreach (var (name, child) in model.named_children())
        {
            names.Add(name);
            if (child is Sequential nested) names.AddRange(LayerNames(nested).Select(inner => $"{name}.{inner}"));
        }
        return names;
    }

    /// <summary>The layers up to and including <paramref name="layerName"/>: the network "cut" there.</summary>
    public static Sequential CutAt(Sequential model, string layerName) => Split(model, layerName).UpTo;

    /// <summary>
    /// Splits <paramref name="model"/> after <paramref name="layerName"/> into a frozen part (no gradients,
    /// always in evaluation mode so batch-norm statistics stay as they are) and the trainable rest.
    /// </summary>
    public static (FrozenLayers Frozen, Sequential Trainable) FreezeUpTo(Sequential model, string layerName)
    {
        var (upTo, after) = Split(model, layerName);
        return (new FrozenLayers(upTo), after);
    }

    /// <summary><paramref name="body"/>'s layers followed by <paramref name="head"/> under <paramref name="headName"/>.</summary>
    public static Sequential WithHead(Sequential body, nn.Module<Tensor, Tensor> head, string headName = "head")
    {
        var layers = Children(body).ToList();
        if (layers.Any(layer => layer.Name == headName))
            throw new ArgumentException($"the body already has a layer named '{headName}'", nameof(headName));
        layers.Add((headName, head));
        return nn.Sequential(layers);
    }

    /// <summary>The parameters an optimizer should get: the ones that still require gradients.</summary>
    public static IEnumerable<Parameter> TrainableParameters(this nn.Module model) => model.parameters().Where(p => p.requires_grad);

    /// <summary>Splits after the layer at <paramref name="layerName"/>; each side keeps the original names.</summary>
    public static (Sequential UpTo, Sequential After) Split(Sequential model, string layerName)
    {
        if (!LayerNames(model).Contains(layerName))
            throw new ArgumentException($"no layer named '{layerName}'; the layers are: {string.Join(", ", LayerNames(model))}", nameof(layerName));
        var upTo = new List<(string, nn.Module<Tensor, Tensor>)>();
        var after = new List<(string, nn.Module<Tensor, Tensor>)>();
        string head = layerName.Split('.', 2)[0];
        string? inner = layerName.Contains('.') ? layerName.Split('.', 2)[1] : null;
        bool passed = false;
        foreach (var (name, child) in Children(model))
        {
            if (passed) after.Add((name, child));
            else if (name != head) upTo.Add((name, child));
            else
            {
                passed = true;
                if (inner is null) upTo.Add((name, child));
                else
                {
                    var (innerUpTo, innerAfter) = Split((Sequential)child, inner);
                    upTo.Add((name, innerUpTo));
                    if (innerAfter.Count > 0) after.Add((name, innerAfter));
                }
            }
        }
        return (nn.Sequential(upTo), nn.Sequential(after));
    }

    static IEnumerable<(string Name, nn.Module<Tensor, Tensor> Module)> Children(Sequential model) =>
        model.named_children().Select(child => (child.name, (nn.Module<Tensor, Tensor>)child.module));
}

/// <summary>
/// Layers that training must leave exactly as they are: their parameters stop requiring gradients (so an
/// optimizer given <see cref="GraphSurgery.TrainableParameters"/> never sees them, and one given all
/// parameters finds no gradient to apply), they stay in evaluation mode even when the whole network is
/// put in training mode (batch norm keeps its pretrained statistics), and their forward pass records no
/// autograd graph, which also saves the memory of their activations.
/// </summary>
public sealed class FrozenLayers : nn.Module<Tensor, Tensor>, Onnx.IOnnxExportable
{
    readonly Sequential layers;

    public FrozenLayers(Sequential frozenLayers) : base(nameof(FrozenLayers))
    {
        layers = frozenLayers;
        RegisterComponents();
        foreach (var parameter in layers.parameters()) parameter.requires_grad = false;
        base.train(false);
    }

    public Sequential Layers => layers;

    public override void train(bool on = true) => base.train(false);

    /// <summary>Frozen or not, the forward pass is the layers'.</summary>
    public string WriteOnnx(Onnx.OnnxGraphBuilder graph, string input, string name) => graph.Module(layers, input, $"{name}.layers");

    public override Tensor forward(Tensor input)
    {
        using var noGrad = no_grad();
        return layers.forward(input);
    }
}
