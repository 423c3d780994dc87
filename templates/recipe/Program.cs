// MyRecipe: a deep-learning recipe on the recipes runtime (made with `dotnet new recipe`).
//
// As it comes, it teaches a small network to tell apart three interleaved spirals of generated points, and goes
// through every step of a recipe in order: 1 data, 2 features, 3 model, 4 optimizer, 5 training, 6 evaluation,
// 7 save, 8 predict. Make it yours one step at a time (README.md says where each step lives).
//
//   dotnet run -c Release                                   # results in artifacts/myrecipe
//   dotnet run -c Release -- --epochs 50 --master local[2] --seed 3
//   dotnet run -c Release -- --help                         # every option (the common ones of every recipe)
using System.Diagnostics;
using System.Text.Json;
using MyRecipe;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Training;
using Recipes.Runtime.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("myrecipe", "Train a small network on generated spirals, evaluate it, save it and predict.",
    new RecipeDefaults(Epochs: 30, BatchSize: 64, LearningRate: 0.01));
cli.SetAction((parsed, options, cancellation) => Train(options, cancellation));
return cli.Invoke(args);

static int Train(CommonOptions options, CancellationToken cancellation)
{
    var wall = Stopwatch.StartNew();
    Directory.CreateDirectory(options.Output);

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
    static Tensor Loss(Tensor logits, Tensor labels) => nn.functional.cross_entropy(logits, labels);

    // 4. Optimizer: Adam at --learning-rate.
    var optimizerSettings = new OptimizerSettings(options.LearningRate);

    // 5. Training: the global batch is split across --master local[N] replicas; validation and a checkpoint every
    //    epoch (Ctrl+C saves one too; --resume continues from it).
    using var progress = new ConsoleTrainingProgress();
    using var summaries = new TrainingSummaries(Path.Combine(options.Output, "summary"), resume: options.Resume);
    using var trainer = new Trainer(
        () => new SpiralClassifier(Spirals.Features, hidden, Spirals.ClassCount),
        parameters => OptimizerFactory.Create(OptimizerKind.Adam, parameters, optimizerSettings),
        Loss,
        new TrainerSettings
        {
            GlobalBatchSize = options.BatchSize,
            Epochs = options.Epochs,
            Seed = options.Seed,
            Master = options.LocalMaster,
            Processes = options.Processes,
            ValidateWhen = Trigger.EveryEpoch,
            ValidationMethods = [new Top1Accuracy(), new LossValidation(Loss)],
            CheckpointFolder = Path.Combine(options.Output, "checkpoint"),
            Resume = options.Resume,
            DataDescription = $"generated spirals, {train.Count} points, seed {options.Seed}",
            Observers = [progress, summaries],
        });
    Console.WriteLine($"Model: {trainer.Model.parameters().Sum(p => p.numel()):N0} parameters; Adam at {options.LearningRate}; {options.LocalMaster}, global batch {options.BatchSize}");
    var result = trainer.Fit(trainSet, validation: testSet, cancellation);
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    string chart = summaries.WriteChart(Path.Combine(options.Output, "training.png"), "MyRecipe on generated spirals");

    // 6. Evaluation on the held-out test points.
    var scores = trainer.Evaluate(testSet, [new Top1Accuracy(), new LossValidation(Loss)]);
    Console.WriteLine($"Test accuracy {scores["accuracy"]:P2}, test loss {scores["loss"]:F4}");

    // 7. Save the weights, and beside them what is needed to use them again (the layer sizes and the scaling).
    string modelPath = Path.Combine(options.Output, "model.bin");
    string descriptionPath = Path.ChangeExtension(modelPath, ".json");
    ModelWeightsFile.Save(modelPath, trainer.Model);
    AtomicFile.WriteAllText(descriptionPath, JsonSerializer.Serialize(new SavedModel(hidden, scaling.Mean, scaling.Std)) + "\n");

    // 8. Predict: load the saved model back, as a separate program would, and classify points it has never seen.
    var description = JsonSerializer.Deserialize<SavedModel>(File.ReadAllText(descriptionPath))
                      ?? throw new RecipeException($"{descriptionPath}: empty model description");
    using var reloaded = ModelWeightsFile.LoadInto(modelPath, new SpiralClassifier(Spirals.Features, description.Hidden, Spirals.ClassCount));
    var fresh = Spirals.Generate(12, seed: options.Seed + 2_000_000);
    var reloadedScaling = new FeatureScaling(description.Mean, description.Std);
    using var freshSet = new InMemoryBatchSource(reloadedScaling.Apply(fresh.Points), tensor(fresh.Labels));
    int[] predicted = Prediction.PredictClasses(reloaded, freshSet);
    int right = predicted.Where((label, i) => label == fresh.Labels[i]).Count();
    Console.WriteLine($"New points: predicted {string.Join(", ", predicted)}");
    Console.WriteLine($"            actually  {string.Join(", ", fresh.Labels)} ({right} of {fresh.Count} right)");

    var report = new RunReport
    {
        Recipe = "myrecipe",
        Dataset = "spirals",
        DataSource = DataSourceKind.Generated,
        Epochs = result.EpochsCompleted,
        Workers = options.LocalMaster.Replicas * options.Processes.Size,
        WallSeconds = wall.Elapsed.TotalSeconds,
        Metrics = new Dictionary<string, double>
        {
            ["test_accuracy"] = scores["accuracy"],
            ["test_loss"] = scores["loss"],
            ["train_loss"] = result.Epochs[^1].TrainLoss,
            ["train_samples_per_second"] = result.Epochs.Average(e => e.SamplesPerSecond),
        },
        Details = new Dictionary<string, object?>
        {
            ["train_samples"] = train.Count, ["test_samples"] = test.Count, ["global_batch"] = options.BatchSize,
            ["master"] = options.Master, ["seed"] = options.Seed, ["model"] = modelPath, ["chart"] = chart,
        },
    };
    Console.WriteLine($"Wrote {report.Write(options.Output)}, {chart}, {modelPath}");
    return 0;
}

/// <summary>What model.json holds beside the weights in model.bin.</summary>
sealed record SavedModel(int Hidden, double[] Mean, double[] Std);
