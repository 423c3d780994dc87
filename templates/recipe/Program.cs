// MyRecipe: a deep-learning recipe on the recipes runtime (made with `dotnet new recipe`).
//
// As it comes, it teaches a small network to tell apart three interleaved spirals of generated points, and goes
// through every step of a recipe in order: 1 data, 2 features, 3 model, 4 optimizer, 5 training, 6 evaluation,
// 7 save, 8 predict. Make it yours one step at a time (README.md says where each step lives).
//
//   dotnet run -c Release                                   # results in artifacts/myrecipe
//   dotnet run -c Release -- --epochs 50 --master local[2] --seed 3
//   dotnet run -c Release -- --help                         # every option (the common ones of every recipe)
using MyRecipe;
using Recipes.Runtime.Data;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Training;
using Recipes.Runtime.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("myrecipe", "Train a small network on generated spirals, evaluate it, save it and predict.",
    new RecipeDefaults(Epochs: 30, BatchSize: 64, LearningRate: 0.01));
cli.SetAction((parsed, options, cancellation) => Train(options, cancellation));
return cli.Invoke(args);

static int Train(CommonOptions options, CancellationToken cancellation)
{
    // The run's plumbing (wall clock, output folder, progress display, summaries, metrics.json): the runtime's RecipeRun.
    using var run = RecipeRun.Start(options);

    // 1. Data: generated spirals, the same for the same --seed; the test points come from another seed. Your own
    //    data would be read here from options.Data (--data PATH).
    var train = Spirals.Generate(options.MaxSamples ?? 1500, seed: options.Seed);
    var test = Spirals.Generate(600, seed: options.Seed + 1_000_000);
    Console.WriteLine($"Data: {Spirals.ClassCount} generated spirals ({train.Count:N0} training, {test.Count:N0} test points)");

    // 2. Features: both coordinates standardised with the training set's mean and standard deviation.
    var scaling = FeatureScaling.Fit(train.Points, Spirals.Features);
    using var trainSet = new InMemoryBatchSource(scaling.Apply(train.Points), tensor(train.Labels));
    using var testSet = new InMemoryBatchSource(scaling.Apply(test.Points), tensor(test.Labels));

    // 3. Model: a multi-layer perceptron with one logit per class (SpiralClassifier.cs); cross-entropy on the logits.
    const int hidden = 64;
    SpiralClassifier CreateModel() => new(Spirals.Features, hidden, Spirals.ClassCount);
    static Tensor Loss(Tensor logits, Tensor labels) => nn.functional.cross_entropy(logits, labels);

    // 4. Optimizer: Adam at --learning-rate.
    var optimizerSettings = new OptimizerSettings(options.LearningRate);
    optim.Optimizer CreateOptimizer(IEnumerable<Parameter> parameters) => OptimizerFactory.Create(OptimizerKind.Adam, parameters, optimizerSettings);

    // 5. Training: the global batch is split across --master local[N] replicas; validation and a checkpoint every
    //    epoch (Ctrl+C saves one too; --resume continues from it).
    using var trainer = new Trainer(CreateModel, CreateOptimizer, Loss, run.Settings with
    {
        ValidationMethods = [new Top1Accuracy(), new LossValidation(Loss)],
        DataDescription = $"generated spirals, {train.Count} points, seed {options.Seed}", // --resume refuses other data
    });
    Console.WriteLine($"Model: {trainer.Model.parameters().Sum(p => p.numel()):N0} parameters; Adam at {options.LearningRate}; {options.LocalMaster}, global batch {options.BatchSize}");
    var result = trainer.Fit(trainSet, validation: testSet, cancellation);
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    string chart = run.Summaries.WriteChart(run.PathTo("training.png"), "MyRecipe on generated spirals");

    // 6. Evaluation on the held-out test points.
    var scores = trainer.Evaluate(testSet, [new Top1Accuracy(), new LossValidation(Loss)]);
    Console.WriteLine($"Test accuracy {scores["accuracy"]:P2}, test loss {scores["loss"]:F4}");

    // 7. Save: the weights (model.bin) and, beside them, what is needed to use them again (model.json: the layer
    //    sizes and the scaling; SpiralModelDescription below).
    string modelPath = run.PathTo("model.bin");
    SavedModel.Save(modelPath, trainer.Model, $"MLP {Spirals.Features}-{hidden}-{hidden}-{Spirals.ClassCount}", new SpiralModelDescription(hidden, scaling.Mean, scaling.Std));

    // 8. Predict: load the saved model back, as a separate program would, and classify points it has never seen.
    using var reloaded = SavedModel<SpiralModelDescription>.Load(modelPath, saved => new SpiralClassifier(Spirals.Features, saved.Hidden, Spirals.ClassCount));
    var fresh = Spirals.Generate(12, seed: options.Seed + 2_000_000);
    var reloadedScaling = new FeatureScaling(reloaded.Description.Mean, reloaded.Description.Std);
    using var freshSet = new InMemoryBatchSource(reloadedScaling.Apply(fresh.Points), tensor(fresh.Labels));
    int[] predicted = Prediction.PredictClasses(reloaded.Model, freshSet);
    int right = predicted.Where((label, i) => label == fresh.Labels[i]).Count();
    Console.WriteLine($"New points: predicted {string.Join(", ", predicted)}");
    Console.WriteLine($"            actually  {string.Join(", ", fresh.Labels)} ({right} of {fresh.Count} right)");

    string metrics = run.WriteReport("spirals", DataSourceKind.Generated, result,
        new Dictionary<string, double>
        {
            ["test_accuracy"] = scores["accuracy"],
            ["test_loss"] = scores["loss"],
            ["train_loss"] = result.Epochs[^1].TrainLoss,
            ["train_samples_per_second"] = result.Epochs.Average(e => e.SamplesPerSecond),
        },
        new Dictionary<string, object?> { ["train_samples"] = train.Count, ["test_samples"] = test.Count, ["model"] = modelPath, ["chart"] = chart });
    Console.WriteLine($"Wrote {metrics}, {chart}, {modelPath}");
    return 0;
}

/// <summary>What model.json holds beside the weights in model.bin: the hidden layers' width and the feature scaling.</summary>
sealed record SpiralModelDescription(int Hidden, double[] Mean, double[] Std) : ISavedModelDescription
{
    public static string Recipe => "myrecipe";

    public string? FindProblem() =>
        Hidden < 1 ? $"hidden {Hidden}: a layer needs at least one unit"
        : Mean.Length != Std.Length || Std.Any(s => !(s > 0)) ? "the scaling needs one mean and one positive std per feature"
        : null;
}
