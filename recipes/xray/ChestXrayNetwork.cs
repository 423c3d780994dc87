using Recipes.Runtime.Models;
using Recipes.Runtime.Models.Backbones;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>
/// CheXNet's classifier on any convolutional backbone: the image, normalised as the backbone was trained, goes
/// through the backbone's convolutional stages to a feature map [N, C, h, w]; global average pooling, dropout
/// 0.2 and one dense layer give 14 logits, one per finding (a sigmoid turns each into a probability on its
/// own: findings are not exclusive, so no softmax).
/// <para>Because the head is linear after the pooling, the same dense weights applied at every position of the
/// feature map give a class activation map (Zhou et al. 2016, CheXNet's heatmaps) whose mean is exactly the
/// finding's logit: where the map is high is where the evidence for that finding was.</para>
/// <para>Stages can be frozen (no gradients, batch norm kept in evaluation mode) from the first one up to a
/// named stage, so only the later stages and the head learn; the weights and their names do not depend on
/// what is frozen, so a saved model loads whatever the training froze.</para>
/// </summary>
public sealed partial class ChestXrayNetwork : nn.Module<Tensor, Tensor>
{
    readonly InputNormalisation normalise;
    readonly Sequential features;
    readonly SeededDropout dropout;
    readonly Linear classifier;
    readonly List<(string Name, nn.Module<Tensor, Tensor> Stage)> _stages;
    int _frozenStages;

    /// <param name="normalisation">What the backbone expects of 0..255 RGB pixels.</param>
    /// <param name="features">The backbone's stages in order, ending with the last feature map (no pooling).</param>
    /// <param name="featureChannels">Channels of that feature map.</param>
    /// <param name="dropoutStream">Seeds the dropout masks; each replica of a data-parallel run needs its own, so
    /// that a run repeats whatever order the replica threads run in (libtorch's one global generator would not).</param>
    public ChestXrayNetwork(InputNormalisation normalisation, Sequential features, int featureChannels, int findings, double dropoutRate = 0.2,
        long dropoutStream = 0)
        : base(nameof(ChestXrayNetwork))
    {
        normalise = normalisation;
        this.features = features;
        dropout = new SeededDropout(dropoutRate, dropoutStream);
        classifier = nn.Linear(featureChannels, findings);
        RegisterComponents();
        _stages = features.named_children().Select(child => (child.name, (nn.Module<Tensor, Tensor>)child.module)).ToList();
        FeatureChannels = featureChannels;
        Findings = findings;
    }

    public int FeatureChannels { get; }
    public int Findings { get; }
    public IReadOnlyList<string> StageNames => _stages.Select(stage => stage.Name).ToList();

    /// <summary>The dense layer's weights [findings, channels]: the L2 penalty goes on them (as the seed's Dense(14) with L2).</summary>
    public Linear Classifier => classifier;

    /// <summary>Freezes the stages from the first one through <paramref name="lastFrozenStage"/> (null or "none": nothing).</summary>
    public ChestXrayNetwork FreezeUpTo(string? lastFrozenStage)
    {
        if (lastFrozenStage is null or "none") return this;
        int last = _stages.FindIndex(stage => stage.Name == lastFrozenStage);
        if (last < 0)
            throw new ArgumentException($"no stage named '{lastFrozenStage}'; the stages are: none, {string.Join(", ", StageNames)}");
        _frozenStages = last + 1;
        foreach (var (_, stage) in _stages.Take(_frozenStages))
            foreach (var parameter in stage.parameters()) parameter.requires_grad = false;
        train(training);
        return this;
    }

    public string? LastFrozenStage => _frozenStages == 0 ? null : _stages[_frozenStages - 1].Name;

    public override void train(bool on = true)
    {
        base.train(on);
        // Frozen stages keep the batch-norm statistics they came with.
        foreach (var (_, stage) in _stages.Take(_frozenStages)) stage.train(false);
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var pooled = FeatureMap(images).mean([2, 3]);
        return classifier.forward(dropout.forward(pooled)).MoveToOuterDisposeScope();
    }

    /// <summary>The last feature map [N, C, h, w] of normalised images.</summary>
    public Tensor FeatureMap(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = normalise.forward(images);
        for (int s = 0; s < _stages.Count; s++)
        {
            if (s < _frozenStages)
            {
                using var noGrad = no_grad(); // no autograd graph (nor its memory) for what does not learn
                x = _stages[s].Stage.forward(x);
            }
            else x = _stages[s].Stage.forward(x);
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Logits [N, findings] and class activation maps [N, findings, h, w] in one pass (evaluation
    /// mode: no dropout). Each map's mean over its positions equals the finding's logit.</summary>
    public (Tensor Logits, Tensor Maps) ForwardWithMaps(Tensor images)
    {
        using var scope = NewDisposeScope();
        var map = FeatureMap(images);
        var maps = einsum("nchw,kc->nkhw", map, classifier.weight!) + classifier.bias!.view(1, -1, 1, 1);
        var logits = maps.mean([2, 3]);
        return (logits.MoveToOuterDisposeScope(), maps.MoveToOuterDisposeScope());
    }
}
