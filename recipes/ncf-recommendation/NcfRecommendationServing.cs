using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Serving;

namespace Recipes.NcfRecommendation;

/// <summary>
/// What serving needs besides the model and its id maps: each movie's title (by dense item index; null where the
/// release has no movie list) and the movies each user rated (by dense user index, sorted), so a user is never
/// recommended a movie they already rated. Saved as <c>model.catalogue.json</c> beside <c>model.bin</c>.
/// </summary>
public sealed record RecommenderCatalogue(
    [property: JsonPropertyName("titles")] IReadOnlyList<string?> Titles,
    [property: JsonPropertyName("rated")] int[][] Rated)
{
    public static string PathFor(string modelPath) => Path.ChangeExtension(modelPath, ".catalogue.json");

    /// <summary>Every rating of <paramref name="ratings"/> counts as rated: training, validation and test alike.</summary>
    public static RecommenderCatalogue From(UserItemRatings ratings)
    {
        var rated = Enumerable.Range(0, ratings.UserCount).Select(_ => new List<int>()).ToArray();
        for (int row = 0; row < ratings.Count; row++) rated[ratings.Users[row]].Add(ratings.Items[row]);
        string?[] titles = ratings.HasTitles ? [.. Enumerable.Range(0, ratings.ItemCount).Select(ratings.ItemTitle)] : new string?[ratings.ItemCount];
        return new RecommenderCatalogue(titles, [.. rated.Select(items => items.Distinct().Order().ToArray())]);
    }

    public void Save(string modelPath) => AtomicFile.WriteAllText(PathFor(modelPath), JsonSerializer.Serialize(this) + "\n");

    public static RecommenderCatalogue Load(string modelPath, RecommenderInfo info)
    {
        string path = PathFor(modelPath);
        if (!File.Exists(path)) throw new DataFileException(path, "missing: it lists the movies' titles and what each user rated (train again to write it)");
        RecommenderCatalogue catalogue;
        try
        {
            catalogue = JsonSerializer.Deserialize<RecommenderCatalogue>(File.ReadAllText(path)) ?? throw new DataFileException(path, "empty catalogue");
        }
        catch (JsonException error)
        {
            throw new DataFileException(path, $"not a recommender catalogue ({error.Message.Split('\n')[0]})", error);
        }
        if (catalogue.Titles is null || catalogue.Rated is null || catalogue.Titles.Count != info.ItemIds.Length || catalogue.Rated.Length != info.UserIds.Length)
            throw new DataFileException(path, $"does not match the model of {info.UserIds.Length} users and {info.ItemIds.Length} movies");
        if (catalogue.Rated.Any(items => items is null || items.Any(item => item < 0 || item >= info.ItemIds.Length)))
            throw new DataFileException(path, "names a movie the model does not have");
        return catalogue;
    }
}

/// <summary>
/// <c>ncf-recommendation serve</c>: <c>POST /predict?user=ID</c> (a MovieLens user id) answers the <c>?top=K</c>
/// (10 by default) movies the user has not rated, by the model's score, best first (ties: lower dense index first),
/// as the recipe's own recommend step ranks them: expected stars for an explicit model, the probability of watching
/// for an implicit one. A user the model does not know gets 404 and one line of JSON. The model itself is served as
/// <c>/v2/models/ncf-recommendation</c>: <c>pairs</c> INT64 [n, 2] of dense (user, movie) indices in, <c>scores</c> FP32 [n] out.
/// </summary>
public sealed class NcfRecommendationServing : ServedModel
{
    public const string ModelName = "ncf-recommendation";
    public const int DefaultTop = 10;
    const int MaxTop = 100;
    const int PickerUsers = 20;

    readonly RecommenderInfo _info;
    readonly RecommenderCatalogue _catalogue;
    readonly Dictionary<long, int> _userOfId;

    NcfRecommendationServing(IInferenceModel model, RecommenderInfo info, RecommenderCatalogue catalogue)
        : base(ModelName, model, ResultKind.Recommendations, PredictInputKind.User)
    {
        _info = info;
        _catalogue = catalogue;
        _userOfId = info.UserIds.Select((id, user) => (id, user)).ToDictionary(pair => (long)pair.id, pair => pair.user);
    }

    public static ServedModel Load(ServeOptions options) => Load(options, Console.Out);

    public static ServedModel Load(ServeOptions options, TextWriter log)
    {
        string modelPath = ModelPath(options);
        if (options.Backend == ServingBackend.Onnx)
            throw new RecipeException("ncf-recommendation serves through TorchSharp only (--backend torch): its NeuralCF has no ONNX export");
        RecommenderInfo info;
        using (var probe = SavedModel<RecommenderInfo>.Load(modelPath, description => new NeuralCF(description.Model)))
            info = probe.Description; // read once to check the files and learn the description before the copies load them
        var catalogue = RecommenderCatalogue.Load(modelPath, info);
        string version = ServedModelLoading.VersionOf(modelPath);
        var signature = new ModelSignature(ModelName, version, "torchsharp",
            [new TensorSpec("pairs", TensorDatatype.INT64, [-1, 2])],
            [new TensorSpec("scores", TensorDatatype.FP32, [-1])]);
        var scale = info.Scale;
        var model = ServedModelLoading.StartInference(options, threads =>
        {
            var network = SavedModel<RecommenderInfo>.Load(modelPath, description => new NeuralCF(description.Model)).Model;
            // The recipe's own ranking score: expected stars (explicit) or the sigmoid of the interaction logit (implicit).
            return new TorchSharpBackend(signature, inputs =>
            {
                var logits = network.forward(inputs[0]);
                return [(scale is null ? logits.sigmoid() : scale.ExpectedStars(logits)).reshape(-1)];
            }, network, threads);
        });
        log.WriteLine($"Model: NeuralCF ({info.Task}) on {info.Dataset}, {info.UserIds.Length:N0} users x {info.ItemIds.Length:N0} movies, " +
                      $"scored by {(scale is null ? "probability of watching" : "expected stars")}, version {version}");
        return new NcfRecommendationServing(model, info, catalogue);
    }

    /// <summary>
    /// <c>--model</c>, or when it is left at <c>&lt;output&gt;/model.bin</c> and that is not there, the model the recipe
    /// writes for its default task (<c>&lt;output&gt;/explicit/model.bin</c>), else the implicit one.
    /// </summary>
    static string ModelPath(ServeOptions options)
    {
        if (File.Exists(options.ModelPath)) return options.ModelPath;
        string folder = Path.GetDirectoryName(Path.GetFullPath(options.ModelPath))!;
        if (Path.GetFileName(options.ModelPath) == "model.bin")
            foreach (string task in new[] { "explicit", "implicit" })
            {
                string candidate = Path.Combine(folder, task, "model.bin");
                if (File.Exists(candidate)) return candidate;
            }
        throw new RecipeException($"{options.ModelPath}: no saved model (train first, which writes <output>/explicit/model.bin, or pass --model)");
    }

    /// <summary>The dense index of the requested user, or 404 for a user the model does not know.</summary>
    int UserOf(PredictRequest request)
    {
        long id = request.RequireUser();
        return _userOfId.TryGetValue(id, out int user)
            ? user
            : throw new NotFoundException($"unknown user {id}: the model knows {_userOfId.Count:N0} users of {_info.Dataset}");
    }

    /// <summary>The movies <paramref name="user"/> has not rated, by dense index, ascending.</summary>
    int[] Candidates(int user)
    {
        int[] rated = _catalogue.Rated[user];
        return [.. Enumerable.Range(0, _info.ItemIds.Length).Where(item => Array.BinarySearch(rated, item) < 0)];
    }

    public override IReadOnlyList<NamedTensor> ToModelInputs(PredictRequest request)
    {
        int user = UserOf(request);
        int[] candidates = Candidates(user);
        if (candidates.Length == 0) throw new InvalidInputException($"user {request.User} has rated every movie the model knows");
        var pairs = new long[candidates.Length * 2];
        for (int i = 0; i < candidates.Length; i++) (pairs[2 * i], pairs[2 * i + 1]) = (user, candidates[i]);
        return [new NamedTensor("pairs", [candidates.Length, 2], Longs: pairs)];
    }

    public override object ToAnswer(PredictRequest request, IReadOnlyList<NamedTensor> outputs)
    {
        int user = UserOf(request);
        int top = request.IntParameter("top", DefaultTop, 1, MaxTop);
        int[] candidates = Candidates(user);
        float[] scores = Output(outputs, "scores").Floats ?? throw new InvalidOperationException("output 'scores' is not FP32");
        if (scores.Length != candidates.Length) throw new InvalidOperationException($"{scores.Length} scores for {candidates.Length} candidate movies");
        var items = candidates.Select((item, i) => (Item: item, Score: (double)scores[i]))
            .OrderByDescending(scored => scored.Score).ThenBy(scored => scored.Item)
            .Take(top)
            .Select(scored => new Recommendation(_info.ItemIds[scored.Item], _catalogue.Titles[scored.Item], scored.Score))
            .ToList();
        return new RecommendationsAnswer(Name, request.RequireUser(), items);
    }

    /// <summary>The page's user picker: up to 20 known user ids, spread evenly over the sorted ids.</summary>
    public override object? PageSettings
    {
        get
        {
            long[] ids = [.. _userOfId.Keys.Order()];
            int count = Math.Min(PickerUsers, ids.Length);
            return new { users = Enumerable.Range(0, count).Select(i => ids[(int)((long)i * ids.Length / count)].ToString(CultureInfo.InvariantCulture)).ToArray() };
        }
    }
}
