using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Recipes.NcfRecommendation;

/// <summary>The shape of a <see cref="NeuralCF"/> model.</summary>
public sealed record NeuralCFSettings
{
    public required int UserCount { get; init; }
    public required int ItemCount { get; init; }
    /// <summary>Size of the user embedding and of the item embedding fed to the MLP tower (the MLP's input is twice this).</summary>
    public int MlpEmbedding { get; init; } = 20;
    /// <summary>Widths of the MLP tower's hidden layers, each Linear + ReLU.</summary>
    public IReadOnlyList<int> HiddenLayers { get; init; } = [20, 10];
    /// <summary>Latent factors of the GMF branch (NeuMF); 0 leaves the branch out (a plain MLP recommender).</summary>
    public int GmfFactors { get; init; }
    /// <summary>Logits out: one per rating class for explicit ratings, 1 for implicit feedback.</summary>
    public int Outputs { get; init; } = 5;

    /// <summary>The workshop notebook's explicit model (Analytics Zoo NeuralCF): embeddings 20, hidden [20, 10], no GMF, one logit per class.</summary>
    public static NeuralCFSettings NotebookExplicit(int userCount, int itemCount, int classCount) =>
        new() { UserCount = userCount, ItemCount = itemCount, MlpEmbedding = 20, HiddenLayers = [20, 10], GmfFactors = 0, Outputs = classCount };

    /// <summary>The NCF paper's NeuMF defaults: predictive factors 8, MLP layers [64, 32, 16, 8] (embeddings
    /// 32 + 32, hidden 32-16-8), GMF factors 8, one logit.</summary>
    public static NeuralCFSettings PaperNeuMF(int userCount, int itemCount) =>
        new() { UserCount = userCount, ItemCount = itemCount, MlpEmbedding = 32, HiddenLayers = [32, 16, 8], GmfFactors = 8, Outputs = 1 };

    public void Validate()
    {
        if (UserCount < 1 || ItemCount < 1) throw new ArgumentException($"NeuralCF needs users and items, not {UserCount} and {ItemCount}");
        if (MlpEmbedding < 1 || Outputs < 1 || GmfFactors < 0 || HiddenLayers.Any(width => width < 1))
            throw new ArgumentException($"NeuralCF sizes must be positive: embedding {MlpEmbedding}, hidden [{string.Join(", ", HiddenLayers)}], GMF {GmfFactors}, outputs {Outputs}");
    }

    public override string ToString() =>
        $"{(GmfFactors > 0 ? "NeuMF" : "NeuralCF")}: {UserCount:N0} users x {ItemCount:N0} items, MLP embeddings {MlpEmbedding}, hidden [{string.Join(", ", HiddenLayers)}]" +
        (GmfFactors > 0 ? $", GMF factors {GmfFactors}" : "") + $", {Outputs} output{(Outputs == 1 ? "" : "s")}";
}

/// <summary>
/// Neural collaborative filtering (He et al., WWW 2017). A user and an item, each looked up in its own
/// embedding table, are concatenated and passed through an MLP tower; with GMF factors the model is NeuMF:
/// a second pair of embeddings is multiplied element-wise (generalised matrix factorisation) and
/// concatenated with the tower's output before the last linear layer. Input: (user, item) index pairs as
/// int64 [batch, 2]. Output: [batch, Outputs] logits (rating classes, or one logit of "will interact").
/// </summary>
public sealed class NeuralCF : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> _userMlp, _itemMlp, _tower, _head;
    readonly Module<Tensor, Tensor>? _userGmf, _itemGmf;

    public NeuralCF(NeuralCFSettings settings) : base(nameof(NeuralCF))
    {
        settings.Validate();
        Settings = settings;
        _userMlp = Embedding(settings.UserCount, settings.MlpEmbedding);
        _itemMlp = Embedding(settings.ItemCount, settings.MlpEmbedding);
        var tower = new List<(string, Module<Tensor, Tensor>)>();
        int width = 2 * settings.MlpEmbedding;
        for (int layer = 0; layer < settings.HiddenLayers.Count; layer++)
        {
            tower.Add(($"linear{layer + 1}", Linear(width, settings.HiddenLayers[layer])));
            tower.Add(($"relu{layer + 1}", ReLU()));
            width = settings.HiddenLayers[layer];
        }
        _tower = Sequential(tower);
        if (settings.GmfFactors > 0)
        {
            _userGmf = Embedding(settings.UserCount, settings.GmfFactors);
            _itemGmf = Embedding(settings.ItemCount, settings.GmfFactors);
            width += settings.GmfFactors;
        }
        _head = Linear(width, settings.Outputs);
        RegisterComponents();
        // The paper initialises embeddings from N(0, 0.01); libtorch's N(0, 1) makes the first steps erratic.
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
            if (name.EndsWith("Mlp.weight", StringComparison.Ordinal) || name.EndsWith("Gmf.weight", StringComparison.Ordinal))
                parameter.normal_(0, 0.01);
    }

    public NeuralCFSettings Settings { get; }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 2 || input.shape[1] != 2)
            throw new ArgumentException($"NeuralCF takes (user, item) pairs as [batch, 2], not [{string.Join(", ", input.shape)}]");
        using var scope = NewDisposeScope();
        var pairs = input.to(ScalarType.Int64);
        var users = pairs.select(1, 0);
        var items = pairs.select(1, 1);
        var features = _tower.forward(cat([_userMlp.forward(users), _itemMlp.forward(items)], 1));
        if (_userGmf is not null && _itemGmf is not null)
            features = cat([features, _userGmf.forward(users).mul(_itemGmf.forward(items))], 1);
        return _head.forward(features).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _userMlp.Dispose();
            _itemMlp.Dispose();
            _tower.Dispose();
            _head.Dispose();
            _userGmf?.Dispose();
            _itemGmf?.Dispose();
        }
        base.Dispose(disposing);
    }
}
