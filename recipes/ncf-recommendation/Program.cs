// Movie recommendations with neural collaborative filtering (NCF), trained data-parallel on the shared runtime.
//
// Two ways to learn from MovieLens ratings:
// --mode explicit (default; the seed's Analytics Zoo notebook) predicts the stars a user would give a movie,
//   as one of 5 classes, with NeuralCF: 20-d user and movie embeddings through an MLP [20, 10]; 80/20 random
//   split, Adam 1e-3, batch 2800. The seed trained 5 epochs, right for ML-1M's million ratings but far too few
//   steps for ML-100K's 100,000 (it ended worse than predicting the mean there), so the length comes from the
//   data: a tenth of the training ratings is held out, training stops once their loss has not improved for
//   --patience epochs, and the best epoch's weights are kept. The seed reported MAE 0.692 on MovieLens-1M.
// --mode implicit (He et al., "Neural Collaborative Filtering", WWW 2017) learns who watches what from the fact
//   of a rating alone, with NeuMF (GMF + MLP) and 4 sampled negatives per positive, and is tested by ranking
//   each user's latest movie among 99 they never rated: HR@10 and NDCG@10. The paper reports 0.705 and 0.426
//   on MovieLens-1M; a random ranking scores 0.10.
// Offline (no --data, no network) both train on generated ratings in the shape of the --dataset release (size,
// star mix, popularity skew, user and movie biases, tastes) and say so; the README has the results there.
//
//   dotnet run --project recipes/ncf-recommendation -c Release                     # explicit (ML-1M, else generated)
//   dotnet run --project recipes/ncf-recommendation -c Release -- --offline --dataset ml-100k
//   dotnet run --project recipes/ncf-recommendation -c Release -- --mode implicit
//   dotnet run --project recipes/ncf-recommendation -c Release -- --data ~/Downloads/ml-1m.zip --master local[2]
//   dotnet run --project recipes/ncf-recommendation -c Release -- serve      # then: curl -X POST "http://127.0.0.1:8080/predict?user=1"
using System.Globalization;
using Recipes.NcfRecommendation;
using Recipes.Runtime.Metrics;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Training;
using Recipes.Serving;
using TorchSharp;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("ncf-recommendation", "Train NeuralCF on MovieLens ratings (explicit stars or implicit feedback) and recommend movies.",
    new RecipeDefaults(Epochs: ExplicitDefaults.MaxEpochs, BatchSize: 2800, LearningRate: 0.001));
var ncf = new NcfRecommendationOptions(cli); // --mode, --patience, --dataset, --top-k (NcfRecommendationOptions.cs)
// The implicit task has the paper's own settings; --epochs and --batch-size still override them.
cli.SetAction((parsed, options, cancellation) => Train(ncf.WithTaskDefaults(parsed, options), ncf.Read(parsed), cancellation));
// `ncf-recommendation serve`: the top movies for a user over HTTP (see NcfRecommendationServing.cs).
ServeCommand.Add(cli, NcfRecommendationServing.Load);
return cli.Invoke(args);

static int Train(CommonOptions options, NcfRecommendationSettings settings, CancellationToken cancellation)
{
    // The run's plumbing (wall clock, output folder, progress display, summaries, metrics.json): the runtime's RecipeRun.
    // Each task writes its own folder, so the two never overwrite each other's checkpoint or metrics.
    using var run = RecipeRun.Start(options with { Output = Path.Combine(options.Output, settings.Task.ToString().ToLowerInvariant()) });

    // 1. Data: --data, else the download cache, else a download, else generated ratings (and we say which).
    //    The generated stand-in (MovieLensLikeRatings.cs) has the size and statistics of the release asked for (--dataset).
    var data = MovieLensDataSets.Resolve(settings.Release, options.Data, options.CacheFolder, options.Offline, Console.Out);
    var ratings = data.Ratings;
    Console.WriteLine($"Data: {data.Description}: {ratings.Count:N0} ratings by {ratings.UserCount:N0} users of {ratings.ItemCount:N0} movies, {ratings.Scale}");

    return settings.Task == RecommendationTask.Explicit ? TrainExplicit(run, data, settings.TopK, settings.Patience, cancellation)
        : TrainImplicit(run, data, settings.TopK, cancellation);
}

// --mode explicit: the seed's rating classifier.
static int TrainExplicit(RecipeRun run, MovieLensData data, int topK, int patience, CancellationToken cancellation)
{
    var (options, output) = (run.Options, run.Output);
    var ratings = data.Ratings;
    var scale = ratings.Scale;

    // 2. Features: the seed's 80/20 random split of the ratings (seed --seed), and a tenth of the 80 held out
    //    as validation data, to choose when to stop without looking at the test ratings. A sample is a
    //    (user, movie) pair of dense indices, int64 [2]; its target is the star class (1 star = class 0).
    var (fitRows, testRows) = RatingSplits.Random(ratings.Count, testFraction: 0.2, options.Seed);
    var (trainPositions, validationPositions) = RatingSplits.Random(fitRows.Length, ExplicitDefaults.ValidationFraction, options.Seed + 1);
    int[] trainRows = trainPositions.Select(position => fitRows[position]).ToArray();
    int[] validationRows = validationPositions.Select(position => fitRows[position]).ToArray();
    if (options.MaxSamples is int limit) trainRows = RatingSplits.Subset(trainRows, limit, options.Seed);
    using var trainSet = ratings.ToRatingBatchSource(trainRows);
    using var validationSet = ratings.ToRatingBatchSource(validationRows);
    using var testSet = ratings.ToRatingBatchSource(testRows);
    Console.WriteLine($"Split: {trainRows.Length:N0} training, {validationRows.Length:N0} validation and {testRows.Length:N0} test ratings " +
        $"(80/20, then a tenth of the 80 for validation; seed {options.Seed})");

    // 3. Model: NeuralCF with the seed's shape, one logit per star class, trained with cross-entropy.
    var settings = NeuralCFSettings.NotebookExplicit(ratings.UserCount, ratings.ItemCount, scale.ClassCount);
    NeuralCF CreateModel() => new(settings);
    static Tensor Loss(Tensor logits, Tensor classes) => nn.functional.cross_entropy(logits, classes);

    // 4. Optimizer: Adam at --learning-rate (1e-3, as the seed).
    optim.Optimizer CreateOptimizer(IEnumerable<TorchSharp.Modules.Parameter> parameters) => optim.Adam(parameters, lr: options.LearningRate);

    // 5. Training: the global batch is split across --master local[N]; MAE and loss on the validation ratings
    //    every epoch. How long to train depends on the data: the seed's 5 epochs are 1,430 steps on ML-1M but
    //    only 145 on ML-100K, where the model has barely moved past predicting 4 stars for everyone. So --epochs
    //    is only a ceiling: training stops once the validation loss has not improved for --patience epochs, and
    //    ends with the weights of its best epoch. The loss, not the MAE, decides: the MAE of the most likely
    //    class is at its lowest early on, when nearly every prediction is the commonest star (the median, a
    //    good constant guess for absolute error), and rises before it falls as the model starts to tell users apart.
    using var trainer = new Trainer(CreateModel, CreateOptimizer, Loss, run.Settings with
    {
        ValidationMethods = [new MeanAbsoluteRatingError(scale), new LossValidation(Loss)],
        MonitoredMetric = "loss",
        RestoreBestEpoch = true,
        EarlyStoppingPatience = patience > 0 ? patience : null,
    });
    Console.WriteLine($"Model: {settings}; {ParameterCount(trainer.Model):N0} parameters; {options.LocalMaster}, global batch {options.BatchSize}; " +
        $"at most {options.Epochs} epochs" + (patience > 0 ? $", stopping after {patience} without a better validation loss" : ""));
    var result = trainer.Fit(trainSet, validation: validationSet, cancellation);
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    var best = result.Epochs[result.BestEpoch ?? ^1];
    Console.WriteLine(Invariant($"Kept the weights of epoch {best.Epoch + 1} of {result.EpochsCompleted} (validation loss {best.Validation["loss"]:F4}, MAE {best.Validation["mae"]:F4})") +
        (result.StoppedEarly ? $"; stopped early: {patience} epochs without a better validation loss" : ""));
    string chart = run.Summaries.WriteChart(run.PathTo("training.png"), $"NeuralCF on {data.Name}: explicit ratings");

    // 6. Evaluation in stars on the test ratings: the most likely class (how the seed predicts) and the
    //    probability-weighted mean of the classes, next to the constant guesses a model must beat: the training
    //    mean (the best constant for squared error) and the training median (the best for absolute error).
    double[] actual = testRows.Select(row => (double)ratings.Stars[row]).ToArray();
    double[] mostLikely = Recommendations.ScorePairs(trainer.Model, testSet, scale.MostLikelyStars);
    double[] expected = Recommendations.ScorePairs(trainer.Model, testSet, scale.ExpectedStars);
    double trainMean = trainRows.Average(row => (double)ratings.Stars[row]);
    double trainMedian = Median(trainRows.Select(row => (double)ratings.Stars[row]));
    double[] meanGuess = Enumerable.Repeat(trainMean, actual.Length).ToArray();
    double[] medianGuess = Enumerable.Repeat(trainMedian, actual.Length).ToArray();
    var errors = new Dictionary<string, double>
    {
        ["test_mae"] = RegressionErrors.MeanAbsolute(mostLikely, actual),
        ["test_rmse"] = RegressionErrors.RootMeanSquared(mostLikely, actual),
        ["test_mae_expected_stars"] = RegressionErrors.MeanAbsolute(expected, actual),
        ["test_rmse_expected_stars"] = RegressionErrors.RootMeanSquared(expected, actual),
        ["test_mae_train_mean"] = RegressionErrors.MeanAbsolute(meanGuess, actual),
        ["test_rmse_train_mean"] = RegressionErrors.RootMeanSquared(meanGuess, actual),
        ["test_mae_train_median"] = RegressionErrors.MeanAbsolute(medianGuess, actual),
        ["test_rmse_train_median"] = RegressionErrors.RootMeanSquared(medianGuess, actual),
    };
    double testLoss = trainer.Evaluate(testSet, [new LossValidation(Loss)])["loss"];
    Console.WriteLine(Invariant($"Test MAE {errors["test_mae"]:F4}, RMSE {errors["test_rmse"]:F4} (most likely class); MAE {errors["test_mae_expected_stars"]:F4}, RMSE {errors["test_rmse_expected_stars"]:F4} (expected stars); loss {testLoss:F4}"));
    Console.WriteLine(Invariant($"Baselines: everyone gets the training mean {trainMean:F2} stars: MAE {errors["test_mae_train_mean"]:F4}, RMSE {errors["test_rmse_train_mean"]:F4}; ") +
        Invariant($"the training median {trainMedian:0.#} stars: MAE {errors["test_mae_train_median"]:F4}, RMSE {errors["test_rmse_train_median"]:F4}"));
    // Each prediction against the best constant for its error: the most likely class for MAE (the seed's
    // metric), the expected stars for MAE and RMSE. A model that loses any of these has learnt nothing a
    // constant could not do, and the run says so rather than leaving it to be noticed.
    var shortfalls = BaselineShortfalls(errors);
    bool beatsBaseline = shortfalls.Count == 0;
    if (beatsBaseline)
        Console.WriteLine(Invariant($"Beats the baselines: MAE {errors["test_mae"]:F4} against {Math.Min(errors["test_mae_train_mean"], errors["test_mae_train_median"]):F4} for the best constant, RMSE (expected stars) {errors["test_rmse_expected_stars"]:F4} against {errors["test_rmse_train_mean"]:F4}."));
    else
        foreach (string shortfall in shortfalls) Console.WriteLine($"WARNING: the model does not beat its baseline: {shortfall}.");
    string starsChart = run.PathTo("stars.png");
    RecommendationCharts.WriteStarDistribution(starsChart, $"Stars of the test ratings ({data.Name}): actual and predicted", scale, actual,
        [("predicted (most likely class)", mostLikely), ("predicted (expected stars, rounded)", expected)]);

    // 7. Save the model with the id maps needed to use it again, and load it back to prove the file works.
    string modelPath = Path.Combine(output, "model.bin");
    SavedModel.Save(modelPath, trainer.Model, settings.ToString(), new RecommenderInfo(data.Name, "explicit", settings, scale, UserIds(ratings), ItemIds(ratings)));
    // What `serve` needs besides: the titles, and every movie each user rated (never recommended to them again).
    RecommenderCatalogue.From(ratings).Save(modelPath);
    using var reloaded = SavedModel<RecommenderInfo>.Load(modelPath, info => new NeuralCF(info.Model)).Model;

    // 8. Prediction with the reloaded model: stars for a few test pairs, then the top K movies for a user
    //    and the top K users for a movie (the seed's recommendForUser / recommendForItem).
    Console.WriteLine("Predictions for the first test ratings:");
    var firstPairs = testRows.Take(5).ToArray();
    using (var noGrad = no_grad())
    using (var scope = NewDisposeScope())
    {
        reloaded.eval();
        var pairs = tensor(firstPairs.SelectMany(row => new long[] { ratings.Users[row], ratings.Items[row] }).ToArray(), [firstPairs.Length, 2]);
        var probabilities = nn.functional.softmax(reloaded.forward(pairs), 1);
        var expectedStars = scale.ExpectedStars(reloaded.forward(pairs)).data<float>().ToArray();
        for (int i = 0; i < firstPairs.Length; i++)
        {
            int row = firstPairs[i];
            var (probability, predictedClass) = probabilities[i].max(0);
            double predictedStars = scale.StarsOf((int)predictedClass.ToInt64());
            Console.WriteLine(Invariant($"  user {ratings.UserId(ratings.Users[row])}, {Quoted(ratings.ItemTitle(ratings.Items[row]))}: rated {ratings.Stars[row]:0.#}, predicted {predictedStars:0.#} (p = {probability.ToDouble():F2}), expected {expectedStars[i]:F2}"));
        }
    }
    var trainedItems = UserItemSets.From(ratings, trainRows);
    int user = ratings.Users[testRows[0]];
    var forUser = Recommendations.TopItemsForUser(reloaded, scale.ExpectedStars, user, ratings.ItemCount, topK, item => trainedItems.Contains(user, item));
    Console.WriteLine($"Top {topK} movies for user {ratings.UserId(user)} ({TasteSummary(ratings, trainRows, user)}), by expected stars:");
    foreach (var (item, score) in forUser) Console.WriteLine(Invariant($"  {score:F2}  {ratings.ItemTitle(item)}{GenreSuffix(ratings, item)}"));
    int movie = ratings.Items[testRows[0]];
    var forMovie = Recommendations.TopUsersForItem(reloaded, scale.ExpectedStars, movie, ratings.UserCount, topK, candidate => trainedItems.Contains(candidate, movie));
    Console.WriteLine($"Top {topK} users for {Quoted(ratings.ItemTitle(movie))}, by expected stars: " +
        string.Join(", ", forMovie.Select(scored => Invariant($"user {ratings.UserId(scored.Index)} ({scored.Score:F2})"))));

    // The results: metrics.json (recipe, data, epochs, workers, time, batch, master and seed are filled in by the run).
    string report = run.WriteReport(data.Name, data.Source, result,
        new Dictionary<string, double>(errors)
        {
            ["test_loss"] = testLoss,
            ["validation_loss"] = best.Validation["loss"],
            ["validation_mae"] = best.Validation["mae"],
            ["train_loss"] = best.TrainLoss,
            ["best_epoch"] = best.Epoch + 1,
            ["samples_per_second"] = result.Epochs.Average(e => e.SamplesPerSecond),
        },
        new Dictionary<string, object?>
        {
            ["task"] = "explicit", ["model"] = settings.ToString(), ["rating_scale"] = scale.ToString(),
            ["beats_baseline"] = beatsBaseline, ["baseline_shortfalls"] = shortfalls,
            ["stopped_early"] = result.StoppedEarly, ["max_epochs"] = options.Epochs, ["patience"] = patience,
            ["train_ratings"] = trainRows.Length, ["validation_ratings"] = validationRows.Length, ["test_ratings"] = testRows.Length,
            ["users"] = ratings.UserCount, ["movies"] = ratings.ItemCount,
            ["model_file"] = modelPath, ["chart"] = chart, ["stars_chart"] = starsChart, ["summary"] = run.Summaries.Folder,
            ["recommended_for_user"] = new { user = ratings.UserId(user), movies = forUser.Select(s => ratings.ItemId(s.Index)).ToArray() },
            ["recommended_for_movie"] = new { movie = ratings.ItemId(movie), users = forMovie.Select(s => ratings.UserId(s.Index)).ToArray() },
        });
    Console.WriteLine($"Wrote {report}, {chart}, {starsChart}, {modelPath}");
    return 0;
}

// --mode implicit: the NCF paper's protocol.
static int TrainImplicit(RecipeRun run, MovieLensData data, int topK, CancellationToken cancellation)
{
    var (options, output) = (run.Options, run.Output);
    var ratings = data.Ratings;

    // 2. Features: every rating is a positive interaction, whatever its stars. Each user's latest one is held
    //    out; training pairs each remaining positive with 4 movies the user never rated (label 0), drawn anew
    //    every epoch; the test ranks each held-out movie among 99 movies its user never rated.
    var split = RatingSplits.LeaveLatestOut(ratings);
    int[] trainRows = options.MaxSamples is int limit ? RatingSplits.Subset(split.TrainRows, limit, options.Seed) : split.TrainRows;
    var trainedItems = UserItemSets.From(ratings, trainRows);
    var trainSet = new ImplicitTrainingSource(ratings, trainRows, new NegativeSampler(trainedItems), ImplicitTrainingSource.PaperNegativesPerPositive, options.Seed);
    var candidates = new RankingCandidates(split.HeldOut, new NegativeSampler(UserItemSets.From(ratings)), RankingCandidates.PaperNegatives, options.Seed);
    Console.WriteLine($"Split: {trainSet.PositiveCount:N0} training interactions x (1 + {trainSet.NegativesPerPositive} negatives) = {trainSet.Count:N0} samples per epoch; " +
        $"{candidates.Count:N0} users ranked on their latest movie among {candidates.CandidatesPerUser}" +
        (candidates.SkippedUsers > 0 ? $" ({candidates.SkippedUsers} users skipped: too few unrated movies)" : ""));

    // 3. Model: NeuMF with the paper's defaults, one logit of "will interact", binary cross-entropy.
    var settings = NeuralCFSettings.PaperNeuMF(ratings.UserCount, ratings.ItemCount);
    NeuralCF CreateModel() => new(settings);
    static Tensor Loss(Tensor logits, Tensor labels) => nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), labels);

    // 4. Optimizer: Adam at --learning-rate (the paper's 1e-3).
    optim.Optimizer CreateOptimizer(IEnumerable<TorchSharp.Modules.Parameter> parameters) => optim.Adam(parameters, lr: options.LearningRate);

    // 5. Training over local[N] replicas; HR@K and NDCG@K every epoch. The training set is an observer too:
    //    it learns each epoch's number to draw that epoch's negatives.
    using var trainer = new Trainer(CreateModel, CreateOptimizer, Loss, run.Settings with
    {
        ValidationMethods = [new HitRatio(topK), new Ndcg(topK)],
        Observers = [.. run.Settings.Observers, trainSet],
    });
    Console.WriteLine($"Model: {settings}; {ParameterCount(trainer.Model):N0} parameters; {options.LocalMaster}, global batch {options.BatchSize}");
    var result = trainer.Fit(trainSet, validation: candidates, cancellation);
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    string chart = run.Summaries.WriteChart(run.PathTo("training.png"), $"NeuMF on {data.Name}: implicit feedback");

    // 6. Evaluation: HR@K and NDCG@K of the model, next to ranking by popularity (how often each movie was
    //    rated in training) and to a random ranking (K / 100).
    var scores = trainer.Evaluate(candidates, [new HitRatio(topK), new Ndcg(topK)]);
    int[] popularity = ratings.ItemRatingCounts(trainRows);
    int[] popularityRanks = candidates.Ranks((_, item) => popularity[item]);
    int[] modelRanks = Recommendations.RanksOf(trainer.Model, logits => logits, candidates);
    string hr = $"test_hr@{topK}", ndcg = $"test_ndcg@{topK}";
    var metrics = new Dictionary<string, double>
    {
        [hr] = scores[$"hr@{topK}"],
        [ndcg] = scores[$"ndcg@{topK}"],
        [$"{hr}_popularity"] = RankingMetrics.HitRatio(popularityRanks, topK),
        [$"{ndcg}_popularity"] = RankingMetrics.Ndcg(popularityRanks, topK),
        [$"{hr}_random"] = Math.Min(1, (double)topK / candidates.CandidatesPerUser),
    };
    Console.WriteLine(Invariant($"Test HR@{topK} {metrics[hr]:F4}, NDCG@{topK} {metrics[ndcg]:F4}; by popularity {metrics[$"{hr}_popularity"]:F4} / {metrics[$"{ndcg}_popularity"]:F4}; random {metrics[$"{hr}_random"]:F2}"));
    // The baseline that matters for ranking is "most popular first": say so when the model does not beat it.
    bool beatsBaseline = metrics[hr] > metrics[$"{hr}_popularity"] && metrics[ndcg] > metrics[$"{ndcg}_popularity"];
    if (!beatsBaseline)
        Console.WriteLine(Invariant($"WARNING: the model does not beat its baseline: HR@{topK} {metrics[hr]:F4} and NDCG@{topK} {metrics[ndcg]:F4} against {metrics[$"{hr}_popularity"]:F4} and {metrics[$"{ndcg}_popularity"]:F4} for ranking the most popular movies first."));
    string rankingChart = run.PathTo("ranking.png");
    int curveLength = Math.Max(20, topK);
    RecommendationCharts.WriteHitRatioCurves(rankingChart, $"Ranking each user's latest movie on {data.Name}",
        [("NeuMF", RankingMetrics.HitRatioCurve(modelRanks, curveLength)), ("most popular first", RankingMetrics.HitRatioCurve(popularityRanks, curveLength))],
        candidates.CandidatesPerUser);

    // 7. Save the model with the id maps needed to use it again, and load it back to prove the file works.
    string modelPath = Path.Combine(output, "model.bin");
    SavedModel.Save(modelPath, trainer.Model, settings.ToString(), new RecommenderInfo(data.Name, "implicit", settings, null, UserIds(ratings), ItemIds(ratings)));
    // What `serve` needs besides: the titles, and every movie each user rated (never recommended to them again).
    RecommenderCatalogue.From(ratings).Save(modelPath);
    using var reloaded = SavedModel<RecommenderInfo>.Load(modelPath, info => new NeuralCF(info.Model)).Model;

    // 8. Prediction with the reloaded model: the top K movies for a user (was the held-out one among them?)
    //    and the users most likely to watch that movie.
    static Tensor Probability(Tensor logits) => logits.sigmoid();
    var (user, heldOutMovie) = split.HeldOut[0];
    var forUser = Recommendations.TopItemsForUser(reloaded, Probability, user, ratings.ItemCount, topK, item => trainedItems.Contains(user, item));
    Console.WriteLine($"Top {topK} movies for user {ratings.UserId(user)} ({TasteSummary(ratings, trainRows, user)}); their held-out latest movie is marked *:");
    foreach (var (item, score) in forUser)
        Console.WriteLine(Invariant($"  {score:F3}  {ratings.ItemTitle(item)}{GenreSuffix(ratings, item)}{(item == heldOutMovie ? "  *" : "")}"));
    var forMovie = Recommendations.TopUsersForItem(reloaded, Probability, heldOutMovie, ratings.UserCount, topK, candidate => trainedItems.Contains(candidate, heldOutMovie));
    Console.WriteLine($"Top {topK} users for {Quoted(ratings.ItemTitle(heldOutMovie))}: " +
        string.Join(", ", forMovie.Select(scored => Invariant($"user {ratings.UserId(scored.Index)} ({scored.Score:F3})"))));

    // The results: metrics.json (recipe, data, epochs, workers, time, batch, master and seed are filled in by the run).
    string report = run.WriteReport(data.Name, data.Source, result,
        new Dictionary<string, double>(metrics)
        {
            ["train_loss"] = result.Epochs[^1].TrainLoss,
            ["samples_per_second"] = result.Epochs.Average(e => e.SamplesPerSecond),
        },
        new Dictionary<string, object?>
        {
            ["task"] = "implicit", ["model"] = settings.ToString(), ["beats_baseline"] = beatsBaseline, ["negatives_per_positive"] = trainSet.NegativesPerPositive,
            ["train_interactions"] = trainSet.PositiveCount, ["train_samples_per_epoch"] = trainSet.Count, ["ranked_users"] = candidates.Count,
            ["skipped_users"] = candidates.SkippedUsers, ["candidates_per_user"] = candidates.CandidatesPerUser,
            ["users"] = ratings.UserCount, ["movies"] = ratings.ItemCount,
            ["model_file"] = modelPath, ["chart"] = chart, ["ranking_chart"] = rankingChart, ["summary"] = run.Summaries.Folder,
            ["recommended_for_user"] = new { user = ratings.UserId(user), movies = forUser.Select(s => ratings.ItemId(s.Index)).ToArray() },
            ["recommended_for_movie"] = new { movie = ratings.ItemId(heldOutMovie), users = forMovie.Select(s => ratings.UserId(s.Index)).ToArray() },
        });
    Console.WriteLine($"Wrote {report}, {chart}, {rankingChart}, {modelPath}");
    return 0;
}

// What a model loses to a constant guess at, in words (empty when it beats every one).
static List<string> BaselineShortfalls(IReadOnlyDictionary<string, double> errors)
{
    var shortfalls = new List<string>();
    void Check(string metric, string baseline, string what)
    {
        if (!(errors[metric] < errors[baseline]))
            shortfalls.Add(Invariant($"{what} {errors[metric]:F4} >= {errors[baseline]:F4} ({baseline})"));
    }
    Check("test_mae", "test_mae_train_mean", "MAE (most likely class)");
    Check("test_mae", "test_mae_train_median", "MAE (most likely class)");
    Check("test_mae_expected_stars", "test_mae_train_mean", "MAE (expected stars)");
    Check("test_rmse_expected_stars", "test_rmse_train_mean", "RMSE (expected stars)");
    return shortfalls;
}

static double Median(IEnumerable<double> values)
{
    double[] sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static long ParameterCount(nn.Module model) => model.parameters().Sum(p => p.numel());

static int[] UserIds(UserItemRatings ratings) => Enumerable.Range(0, ratings.UserCount).Select(ratings.UserId).ToArray();

static int[] ItemIds(UserItemRatings ratings) => Enumerable.Range(0, ratings.ItemCount).Select(ratings.ItemId).ToArray();

// "rated 42 movies in training, mostly Drama, Comedy": what the recommendations should be judged against.
static string TasteSummary(UserItemRatings ratings, int[] trainRows, int user)
{
    var rows = trainRows.Where(row => ratings.Users[row] == user).ToArray();
    var genres = rows.SelectMany(row => ratings.ItemGenres(ratings.Items[row]))
        .GroupBy(genre => genre).OrderByDescending(group => group.Count()).ThenBy(group => group.Key, StringComparer.Ordinal)
        .Take(3).Select(group => group.Key).ToArray();
    return $"rated {rows.Length} movie{(rows.Length == 1 ? "" : "s")} in training" + (genres.Length > 0 ? $", mostly {string.Join(", ", genres)}" : "");
}

static string GenreSuffix(UserItemRatings ratings, int item) =>
    ratings.ItemGenres(item) is { Count: > 0 } genres ? $"  [{string.Join(", ", genres)}]" : "";

static string Quoted(string title) => $"\"{title}\"";

static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
