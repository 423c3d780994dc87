// Cats vs dogs by transfer learning from an ImageNet ResNet-18.
//
// The third recipe of the workshop: a network trained on ImageNet already knows edges, fur and ears, so a
// few dozen labelled pictures are enough to tell cats from dogs. Take the pretrained ResNet-18 (the ONNX
// model in NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18, imported into TorchSharp), cut it at the
// pooling layer, freeze it up to a chosen block, put a new Dense(2) head on top and train what is not
// frozen through an ML.NET estimator (NNClassifier) over a data view of image paths. Expect about 0.95
// test accuracy on the 80/20 cats-dogs sample (the seed reached 0.977 with Inception-v1 on ~2,200 Kaggle
// images), and about 1.0 on the generated offline textures.
//
//   dotnet run --project recipes/transfer-learning -c Release                                 # offline: GENERATED textures
//   dotnet run --project recipes/transfer-learning -c Release -- --data ../shared/data/cats-dogs
//   dotnet run --project recipes/transfer-learning -c Release -- --data ~/kaggle/train --max-samples 2200
//   dotnet run --project recipes/transfer-learning -c Release -- --backbone onnx             # frozen features by ONNX Runtime
//   dotnet run --project recipes/transfer-learning -c Release -- serve --model artifacts/transfer-learning/model.bin
using Microsoft.ML;
using Recipes.Runtime.Data;
using Recipes.Runtime.Models;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Pipelines;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using Recipes.TransferLearning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("transfer-learning", "Fine-tune an ImageNet ResNet-18 to tell cats from dogs (or any labelled image folders).",
    new RecipeDefaults(Epochs: 8, BatchSize: 16, LearningRate: 0.001));
var transferOptions = new TransferLearningOptions(cli.Root); // --backbone, --freeze-up-to (TransferLearningOptions.cs)
cli.SetAction((parsed, options, cancellation) => Train(options, transferOptions.Read(parsed), cancellation));
// `transfer-learning serve`: the saved classifier behind an HTTP service (see TransferLearningServing.cs).
ServeCommand.Add(cli, TransferLearningServing.Load);
return cli.Invoke(args);

static int Train(CommonOptions options, TransferLearningSettings settings, CancellationToken cancellation)
{
    // The run's plumbing (wall clock, output folder, progress display, summaries, metrics.json): the runtime's RecipeRun.
    // The estimator trains in one go: no checkpoints, so no --resume.
    using var run = RecipeRun.Start(options, checkpoints: false);

    // 1. Data: --data (train/ and test/ class folders, or one folder labelled by folders or by file names
    //    such as cat.1.jpg, split 90/10 with the seed), else generated textures (and we say so).
    var data = ImageClassificationData.Resolve(options.Data, options.Seed, Console.Out);
    if (options.MaxSamples is int limit) data = data.WithAtMostTrainingImages(limit, options.Seed);
    Console.WriteLine($"Data: {data.Name} ({data.Source.ToMetricName()}), classes {string.Join(", ", data.ClassNames)}: {data.Train.Count} training, {data.Test.Count} test images");

    // 2. Features: resize the short side to 256 (whatever the aspect ratio: an image past 16:1 is skipped and
    //    listed), crop the centre 224x224, then the ImageNet model's own preprocessing (RGB to BGR, minus its
    //    mean image), read from the preprocessing graph it ships with.
    var pictures = new ImagePipeline { Transform = new ImageChain([new ScaleShortSide(256), new CenterCrop(224, 224)]), Seed = options.Seed };
    using var preprocessing = ImageNetResNet18.LoadPreprocessing();

    // 3. Model: ResNet-18 cut at the pooling layer (512 features), frozen up to the chosen block, new Dense(2).
    //    The frozen part is computed once per image (TrainingInputs); only the rest trains, epoch after epoch:
    //    the backbone's layers after the freeze point with their ImageNet weights, then the head (ImageNetTransfer.cs).
    var mode = settings.Backbone == BackboneChoice.Onnx ? BackboneTraining.FrozenOnnxRuntime : BackboneTraining.FineTuneTorchSharp;
    using var transfer = new ImageNetTransfer(mode, data.ClassNames.Count, settings.FreezeUpTo);
    Console.WriteLine($"Model: {transfer.Description}");

    // 4. Optimizer: Adam on the parameters that are not frozen.
    // 5. Training: the NNClassifier estimator reads the data view, runs the pictures through the pipeline and
    //    trains with the runtime's Trainer (--master local[N]), validating on the test images every epoch.
    var ml = new MLContext(options.Seed);
    var trainView = ImageSetDataView.Load(ml, data.Train);
    var testView = ImageSetDataView.Load(ml, data.Test);
    var labelsToKeys = ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue).Fit(trainView);
    var classifier = new NNClassifier(ml, new NNClassifierOptions
    {
        TrainingImages = pictures,
        ModelInputs = images => { using var preprocessed = preprocessing.Apply(images); return transfer.TrainingInputs(preprocessed); },
        CacheModelInputs = true,
        CreateNetwork = transfer.CreateTrainable,
        CreateOptimizer = parameters => optim.Adam(parameters, lr: options.LearningRate),
        Training = run.Settings,
    });
    var (model, result, skipped) = classifier.Fit(labelsToKeys.Transform(trainView), labelsToKeys.Transform(testView));
    using var trained = model;
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    foreach (var item in skipped.Items) Console.WriteLine($"skipped {item.Origin}: {item.Problem}");
    string chart = run.Summaries.WriteChart(run.PathTo("training.png"), $"ResNet-18 transfer on {data.Name}");

    // 6. Evaluation: the model adds PredictedLabel and Score columns to the test view; ML.NET's evaluator
    //    computes accuracy and the confusion table from them.
    var scored = trained.Transform(labelsToKeys.Transform(testView));
    var metrics = ml.MulticlassClassification.Evaluate(scored);
    Console.WriteLine($"Test accuracy {metrics.MicroAccuracy:P2} (error {1 - metrics.MicroAccuracy:P2}), log-loss {metrics.LogLoss:F4}");
    Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

    // 7. Save the whole classifier (frozen layers, fine-tuned layers, head) and load it back.
    string modelPath = Path.Combine(options.Output, "model.bin");
    using var network = transfer.CreateClassifier((Sequential)trained.Network);
    // Its description is what `serve` needs to rebuild it and prepare pictures as here: the class names, the freeze point, the sizes.
    SavedModel.Save(modelPath, network, $"ResNet-18 ImageNet, {transfer.Description}",
        new TransferModelDescription(data.ClassNames, transfer.FreezeUpTo, ResizeShortSide: 256, Crop: 224, data.Name));
    using var reloaded = SavedModel<TransferModelDescription>.Load(modelPath, _ => transfer.CreateClassifier(transfer.CreateTrainable())).Model;

    // 8. Prediction: a grid of test pictures per class with the reloaded model's answers and confidence.
    //    Only pictures that could be used: a skipped one has nothing to show.
    var examples = data.Test.Entries.Where(e => !skipped.Contains(e.Origin)).GroupBy(e => e.Label).OrderBy(g => g.Key).SelectMany(g => g.Take(4)).ToList();
    var tiles = new List<ContactSheetTile>();
    foreach (var entry in examples)
    {
        var frame = pictures.Process(entry, 0, 0);
        using var scope = NewDisposeScope();
        using var input = preprocessing.Apply(frame.ToTensor().unsqueeze(0));
        reloaded.eval();
        using var noGrad = no_grad();
        var probabilities = nn.functional.softmax(reloaded.forward(input), 1)[0].data<float>().ToArray();
        int best = Array.IndexOf(probabilities, probabilities.Max());
        string truth = data.ClassNames[entry.Label], predicted = data.ClassNames[best];
        tiles.Add(new ContactSheetTile(frame.ToRgbBytes(), frame.Width, frame.Height,
            predicted == truth ? $"{predicted} ✓" : $"{predicted} ✗ (is {truth})",
            $"{probabilities[best]:P1} · {Path.GetFileName(entry.Origin)}"));
    }
    string grid = run.PathTo("predictions.png");
    ContactSheet.WritePng(grid, [new ContactSheetSection($"Test predictions ({data.Name}), reloaded model", tiles)], columns: 4, scale: 0.75f);

    // The results: metrics.json (recipe, data, epochs, workers, time, batch, master and seed are filled in by the run).
    string report = run.WriteReport(data.Name, data.Source, result,
        new Dictionary<string, double>
        {
            ["test_accuracy"] = metrics.MicroAccuracy,
            ["test_error"] = 1 - metrics.MicroAccuracy,
            ["test_log_loss"] = metrics.LogLoss,
            ["train_loss"] = result.Epochs[^1].TrainLoss,
        },
        new Dictionary<string, object?>
        {
            ["classes"] = data.ClassNames, ["train_images"] = data.Train.Count, ["test_images"] = data.Test.Count,
            ["backbone"] = transfer.Description, ["freeze_up_to"] = transfer.FreezeUpTo, ["skipped_images"] = skipped.Count,
            ["confusion"] = metrics.ConfusionMatrix.Counts, ["model"] = modelPath, ["chart"] = chart, ["predictions_image"] = grid,
        });
    Console.WriteLine($"Wrote {report}, {chart}, {grid}, {modelPath}");
    return 0;
}
