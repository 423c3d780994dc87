// MNIST digits with LeNet-5, trained data-parallel on the shared runtime.
//
// The first recipe of the workshop: read the IDX files, normalise them, train LeNet-5 (LeCun et al. 1998)
// with Adam on a global batch of 512 split across local replicas, validate every epoch, save the model and
// predict the first test digits. Expect about 99% test accuracy on MNIST (LeNet-5's published error is
// 0.95%), about 0.90 on Fashion-MNIST (--dataset fashion), and about 98% on the generated offline digits.
//
//   dotnet run --project recipes/mnist -c Release                      # offline: generated digits
//   dotnet run --project recipes/mnist -c Release -- --data ~/mnist    # your IDX files
//   dotnet run --project recipes/mnist -c Release -- --dataset fashion --master local[2]
//   dotnet run --project recipes/mnist -c Release -- predict --data ~/mnist
//   dotnet run --project recipes/mnist -c Release -- serve              # HTTP: /predict, /v2 (KServe), /metrics, a page at /
//   dotnet run --project recipes/mnist -c Release -- --master cluster[2]     # a driver; then, twice:
//   dotnet run --project recipes/mnist -c Release -- worker --join 127.0.0.1:2551   (secret: see README)
using Recipes.Mnist;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Training;
using Recipes.Runtime.Training.Optimization;
using Recipes.Serving;
using TorchSharp.Modules;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("mnist", "Train LeNet-5 on MNIST or Fashion-MNIST, evaluate it and predict test digits.",
    new RecipeDefaults(Epochs: 15, BatchSize: 512, LearningRate: 0.001));
var mnist = new MnistOptions(cli.Root); // --dataset, --optimizer, --log-samples and `predict` (MnistOptions.cs)
cli.SetAction((parsed, options, cancellation) => Train(options, mnist.Read(parsed), cancellation));
cli.SetAction((parsed, options, _) => Predict(options, parsed.GetValue(mnist.Dataset), parsed.GetValue(mnist.Model)), mnist.PredictCommand);
// Serving the saved model over HTTP: the shared service, with this recipe's loading and preprocessing (MnistServing.cs).
ServeCommand.Add(cli, MnistServing.Load);
return cli.Invoke(args);

static int Train(CommonOptions options, MnistSettings settings, CancellationToken cancellation)
{
    // The run's plumbing (wall clock, output folder, progress display, summaries, metrics.json): the runtime's RecipeRun.
    using var run = RecipeRun.Start(options);

    // 1. Data: --data, else the download cache, else a download, else generated digits (and we say which).
    var data = MnistDataSets.Resolve(settings.Dataset, options.Data, options.CacheFolder, options.Offline, options.Seed, Console.Out);
    var trainImages = options.MaxSamples is int limit ? data.Train.Take(limit) : data.Train;
    Console.WriteLine($"Data: {data.Description} ({trainImages.Count:N0} training, {data.Test.Count:N0} test images)");

    // 2. Features: scale pixels to [0,1] and standardise with the training set's mean and std
    //    (0.1307 and 0.3081 for MNIST), the one statistic LeNet needs to train quickly.
    var normalisation = PixelNormalisation.Fit(trainImages);
    Console.WriteLine($"Normalisation: mean {normalisation.Mean:F4}, std {normalisation.Std:F4}");
    using var trainSet = normalisation.ToBatchSource(trainImages);
    using var testSet = normalisation.ToBatchSource(data.Test);

    // 3. Model: LeNet-5 (LeNet5.cs): two 5x5 convolutions with ReLU and 2x2 max pooling, then dense layers
    //    120 -> 84 -> one logit per class; cross-entropy on the logits.
    LeNet5 CreateModel() => new(data.Test.ClassCount);
    static Tensor Loss(Tensor logits, Tensor labels) => nn.functional.cross_entropy(logits, labels);

    // 4. Optimizer: Adam at 1e-3 by default (the seed used Adam or RMSprop); SGD gets Nesterov momentum.
    var optimizerSettings = new OptimizerSettings(options.LearningRate) { Momentum = 0.9, Nesterov = true };
    optim.Optimizer CreateOptimizer(IEnumerable<Parameter> parameters) => OptimizerFactory.Create(settings.Optimizer, parameters, optimizerSettings);

    // 5. Training: the global batch is split across --master local[N] replicas; validation every epoch,
    //    a checkpoint every epoch (Ctrl+C saves one too; --resume continues from it).
    using var trainer = new Trainer(CreateModel, CreateOptimizer, Loss, run.Settings with
    {
        ValidationMethods = [new Top1Accuracy(), new LossValidation(Loss)],
        DataDescription = data.Description, // the checkpoint records it: --resume refuses other data
        SampleLogPath = settings.LogSamples ? run.PathTo("samples.tsv") : null,
    });
    Console.WriteLine($"Model: LeNet-5, {trainer.Model.parameters().Sum(p => p.numel()):N0} parameters; {settings.Optimizer} at {options.LearningRate}; {options.LocalMaster}, global batch {options.BatchSize}");
    var result = trainer.Fit(trainSet, validation: testSet, cancellation);
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    string chart = run.Summaries.WriteChart(run.PathTo("training.png"), $"LeNet-5 on {data.Name}");

    // 6. Evaluation on the held-out test set.
    var scores = trainer.Evaluate(testSet, [new Top1Accuracy(), new LossValidation(Loss)]);
    Console.WriteLine($"Test accuracy {scores["accuracy"]:P2} (error {1 - scores["accuracy"]:P2}), test loss {scores["loss"]:F4}");

    // 7. Save the model with what is needed to use it again, and load it back to prove the file works.
    string modelPath = Path.Combine(options.Output, "model.bin");
    SavedModel.Save(modelPath, trainer.Model, "LeNet-5", new MnistModelDescription(data.Name, data.Test.ClassCount, normalisation.Mean, normalisation.Std));
    using var reloaded = SavedModel<MnistModelDescription>.Load(modelPath, description => new LeNet5(description.ClassCount)).Model;

    // 8. Prediction: the first 100 test images with the reloaded model; the first 12 as a picture.
    var first100 = data.Test.Take(100);
    int[] predicted = PredictLabels(reloaded, normalisation, first100);
    double first100Accuracy = predicted.Select((label, i) => label == first100.Labels[i] ? 1.0 : 0.0).Average();
    Console.WriteLine($"First 12 test images: predicted {string.Join(", ", predicted.Take(12).Select(p => data.LabelNames[p]))}");
    Console.WriteLine($"                      actually {string.Join(", ", first100.Labels.Take(12).Select(l => data.LabelNames[l]))}");
    string strip = run.PathTo("predictions.png");
    CaptionedImageStrip.WritePng(strip, Enumerable.Range(0, 12).Select(i => CaptionedImage.Prediction(
        first100.Image(i).ToArray(), first100.Width, first100.Height, data.LabelNames[predicted[i]], data.LabelNames[first100.Labels[i]])).ToList(),
        scale: 5, columns: 6);

    // The results: metrics.json (recipe, data, epochs, workers, time, batch, master and seed are filled in by the run).
    string report = run.WriteReport(data.Name, data.Source, result,
        new Dictionary<string, double>
        {
            ["test_accuracy"] = scores["accuracy"],
            ["test_error"] = 1 - scores["accuracy"],
            ["test_loss"] = scores["loss"],
            ["test_first_100_accuracy"] = first100Accuracy,
            ["train_loss"] = result.Epochs[^1].TrainLoss,
            ["train_samples_per_second"] = result.Epochs.Average(e => e.SamplesPerSecond),
        },
        new Dictionary<string, object?>
        {
            ["train_samples"] = trainImages.Count, ["test_samples"] = data.Test.Count, ["optimizer"] = settings.Optimizer.ToString(),
            ["model"] = modelPath, ["chart"] = chart, ["predictions_image"] = strip, ["summary"] = run.Summaries.Folder,
            ["first_12_predicted"] = predicted.Take(12).ToArray(),
        });
    Console.WriteLine($"Wrote {report}, {chart}, {strip}, {modelPath}");
    return 0;
}

// The seed's mnist_pred: load a saved model and measure it on the test files of a folder.
static int Predict(CommonOptions options, MnistVariant variant, string? modelPath)
{
    modelPath ??= Path.Combine(options.Output, "model.bin");
    using var saved = SavedModel<MnistModelDescription>.Load(modelPath, description => new LeNet5(description.ClassCount));
    var (model, info) = saved;
    // Scoring needs only the test files (t10k-*) of --data: a folder of new data need not hold training files.
    var data = MnistDataSets.ResolveTest(variant, options.Data, options.CacheFolder, options.Offline, options.Seed, Console.Out);
    var test = options.MaxSamples is int limit ? data.Test.Take(limit) : data.Test;
    var normalisation = new PixelNormalisation(info.Mean, info.Std);
    int[] predicted = PredictLabels(model, normalisation, test);
    int correct = predicted.Where((label, i) => label == test.Labels[i]).Count();
    Console.WriteLine($"{saved.Architecture} trained on {info.Dataset}: {correct:N0} of {test.Count:N0} {data.Name} test images right, accuracy {(double)correct / test.Count:P2}");
    return 0;
}

static int[] PredictLabels(nn.Module<Tensor, Tensor> model, PixelNormalisation normalisation, LabeledImages images)
{
    using var batches = normalisation.ToBatchSource(images);
    return Prediction.PredictClasses(model, batches);
}
