using Recipes.NcfRecommendation;
using Recipes.Runtime.Data;
using Recipes.Runtime.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.Tests.NcfRecommendation;

[Collection(ProcessWideState.Name)] // seeds libtorch's generator for its networks' weights
public sealed class NeuralCFTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"neuralcf-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    static long Parameters(nn.Module model) => model.parameters().Sum(p => p.numel());

    [Fact]
    public void The_seed_and_paper_shapes_have_the_parameter_counts_of_their_layers()
    {
        using var seed = new NeuralCF(NeuralCFSettings.NotebookExplicit(6040, 3706, 5));
        // Embeddings (6040 + 3706) x 20, MLP 40->20->10, head 10->5.
        Assert.Equal(9746 * 20 + (40 * 20 + 20) + (20 * 10 + 10) + (10 * 5 + 5), Parameters(seed));

        using var neuMF = new NeuralCF(NeuralCFSettings.PaperNeuMF(6040, 3706));
        // MLP embeddings 32 + GMF embeddings 8 per user and item, MLP 64->32->16->8, head (8 + 8)->1.
        Assert.Equal(9746 * 40 + (64 * 32 + 32) + (32 * 16 + 16) + (16 * 8 + 8) + (16 + 1), Parameters(neuMF));
        Assert.StartsWith("NeuMF: 6,040 users x 3,706 items", neuMF.Settings.ToString());
    }

    [Fact]
    public void Pairs_in_give_one_row_of_logits_per_pair_and_other_shapes_are_refused()
    {
        torch.random.manual_seed(1);
        using var model = new NeuralCF(new NeuralCFSettings { UserCount = 5, ItemCount = 7, MlpEmbedding = 4, HiddenLayers = [6], GmfFactors = 3, Outputs = 2 });
        using var scope = torch.NewDisposeScope();
        var output = model.forward(tensor(new long[] { 0, 0, 4, 6, 2, 3 }, [3, 2]));
        Assert.Equal(new long[] { 3, 2 }, output.shape);
        // Each pair is scored on its own: the same pair alone gives the same logits.
        var alone = model.forward(tensor(new long[] { 4, 6 }, [1, 2]));
        Assert.True(alone[0].allclose(output[1]));
        Assert.Contains("[batch, 2], not [3]", Assert.Throws<ArgumentException>(() => model.forward(tensor(new long[] { 1, 2, 3 }))).Message);
        Assert.Throws<ArgumentException>(() => new NeuralCF(new NeuralCFSettings { UserCount = 0, ItemCount = 3 }));
    }

    [Fact]
    public void A_few_Adam_steps_learn_which_users_like_which_items()
    {
        // Users 0-3 like items 0-3, users 4-7 like items 4-7: a block pattern NeuMF must pick up.
        var pairs = new List<long>();
        var labels = new List<float>();
        for (int user = 0; user < 8; user++)
            for (int item = 0; item < 8; item++)
            {
                pairs.AddRange([user, item]);
                labels.Add(user / 4 == item / 4 ? 1 : 0);
            }
        torch.random.manual_seed(3);
        using var model = new NeuralCF(new NeuralCFSettings { UserCount = 8, ItemCount = 8, MlpEmbedding = 8, HiddenLayers = [8], GmfFactors = 4, Outputs = 1 });
        using var optimizer = optim.Adam(model.parameters(), lr: 0.05);
        using var input = tensor(pairs.ToArray(), [64, 2]);
        using var target = tensor(labels.ToArray());
        for (int step = 0; step < 150; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            nn.functional.binary_cross_entropy_with_logits(model.forward(input).squeeze(1), target).backward();
            optimizer.step();
        }
        using var noGrad = torch.no_grad();
        using var predicted = model.forward(input).squeeze(1).gt(0).to(ScalarType.Float32);
        Assert.True(predicted.allclose(target, rtol: 0, atol: 0), "NeuMF did not separate the two blocks of users and items");

        var top = Recommendations.TopItemsForUser(model, logits => logits.sigmoid(), user: 5, itemCount: 8, k: 3, exclude: item => item == 4);
        Assert.All(top, scored => Assert.InRange(scored.Index, 5, 7));
        Assert.True(top[0].Score >= top[1].Score && top[1].Score >= top[2].Score);
        var users = Recommendations.TopUsersForItem(model, logits => logits.sigmoid(), item: 1, userCount: 8, k: 4);
        Assert.Equal([0, 1, 2, 3], users.Select(s => s.Index).Order());
    }

    [Fact]
    public void A_saved_recommender_reloads_with_the_same_outputs_and_its_id_maps()
    {
        Directory.CreateDirectory(_folder);
        torch.random.manual_seed(9);
        var settings = NeuralCFSettings.NotebookExplicit(4, 6, 5);
        using var model = new NeuralCF(settings);
        string path = Path.Combine(_folder, "model.bin");
        SavedModel.Save(path, model, settings.ToString(), new RecommenderInfo("test", "explicit", settings, RatingScale.WholeStars, [10, 20, 30, 40], [1, 2, 3, 5, 8, 13]));

        using var saved = SavedModel<RecommenderInfo>.Load(path, description => new NeuralCF(description.Model));
        var (reloaded, info) = saved;
        Assert.Equal([10, 20, 30, 40], info.UserIds);
        Assert.Equal(RatingScale.WholeStars, info.Scale);
        Assert.Equal(settings.HiddenLayers, info.Model.HiddenLayers);
        using var scope = torch.NewDisposeScope();
        var pairs = tensor(new long[] { 0, 5, 3, 2 }, [2, 2]);
        Assert.True(model.forward(pairs).allclose(reloaded.forward(pairs), rtol: 0, atol: 0));

        Assert.Equal(settings.ToString(), saved.Architecture);

        Assert.Throws<ArgumentException>(() => SavedModel.Save(path, model, "NeuralCF", new RecommenderInfo("test", "explicit", settings, null, [1], [1])));
        // A description whose shape NeuralCF refuses is reported against model.json, before any network is built.
        string json = File.ReadAllText(Path.ChangeExtension(path, ".json"));
        File.WriteAllText(Path.ChangeExtension(path, ".json"), json.Replace("\"mlp_embedding\": 20", "\"mlp_embedding\": 0", StringComparison.Ordinal));
        Assert.Contains("NeuralCF sizes must be positive", Assert.Throws<DataFileException>(() => SavedModel<RecommenderInfo>.Load(path, description => new NeuralCF(description.Model))).Message);
    }
}
