// Object detection with SSD, the Single Shot MultiBox Detector (Liu et al. 2016), scored with the official VOC metric.
//
// The workshop's detection notebook loaded a pretrained SSD-MobileNet and drew its boxes on video frames. No
// detection weights can be installed here, so this recipe TRAINS one: an ImageNet ResNet-18 (imported by the
// runtime) gives feature maps at three scales, extra layers add three coarser ones, and on each map small
// convolutions predict, for every default box of every cell, four box offsets and a score per class. Training
// matches objects to default boxes, and the multibox loss (smooth L1 + cross-entropy with 3:1 hard negative mining)
// teaches both at once; non-maximum suppression turns ~9,600 scored boxes into a short list of detections. The
// result is scored with PASCAL VOC's mean average precision at IoU 0.5, computed exactly as the devkit does.
// Expect mAP@0.5 above 0.8 on the generated scenes (offline default: 0.867 in about 13 minutes on 2 cores) and about 0.67 AP
// on the 200-image raccoon set (160 training images, from ImageNet weights rather than detection weights).
//
//   dotnet run --project recipes/object-detection -c Release                                   # offline: GENERATED scenes
//   dotnet run --project recipes/object-detection -c Release -- --data ../shared/data/raccoon
//   dotnet run --project recipes/object-detection -c Release -- --download --voc-year 2007     # PASCAL VOC 2007 (0.9 GB)
//   dotnet run --project recipes/object-detection -c Release -- predict --model artifacts/object-detection/model.bin --images FRAMES/
//   dotnet run --project recipes/object-detection -c Release -- evaluate --ground-truth GT/ --detections DETS/ [--metric voc07]
//   dotnet run --project recipes/object-detection -c Release -- serve --model artifacts/object-detection/model.bin   # HTTP service and page
using Recipes.ObjectDetection;
using Recipes.Runtime.Data;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Training;
using Recipes.Runtime.Training.Optimization;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using TorchSharp.Modules;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("object-detection", "Detect objects with SSD (ResNet-18 or MobileNetV2 backbone), scored with the VOC mean average precision.",
    new RecipeDefaults(Epochs: 8, BatchSize: 16, LearningRate: 1e-3));
var settings = new DetectionOptions(cli.Root);
cli.SetAction((parsed, options, cancellation) => Train(options, settings.Read(parsed), cancellation));
cli.SetAction((parsed, options, _) => DetectionCommands.Predict(options, parsed.GetValue(settings.Model), parsed.GetValue(settings.Images)!,
    parsed.GetValue(settings.Threshold)), settings.PredictCommand);
cli.SetAction((parsed, _, _) => DetectionCommands.Evaluate(parsed.GetValue(settings.GroundTruth)!, parsed.GetValue(settings.Detections)!,
    DetectionOptions.ParseMetric(parsed.GetValue(settings.Metric)!)), settings.EvaluateCommand);
// `serve`: the saved model behind an HTTP service (see DetectionServing.cs); --threshold is the default of ?threshold=.
ServeCommand.Add(cli, serve => DetectionServing.Load(serve, Console.Out, serve.CommandLine!.GetValue(settings.Threshold)));
return cli.Invoke(args);

static int Train(CommonOptions options, DetectionSettings settings, CancellationToken cancellation)
{
    // The run's plumbing (wall clock, output folder, progress display, summaries, metrics.json): the runtime's RecipeRun.
    // Its progress lines show the mAP, not every class's AP.
    using var run = RecipeRun.Start(options, showScore: name => !name.StartsWith("ap_", StringComparison.Ordinal));

    // 1. Data: --data (VOC layout, or a folder of images with VOC XML files), else a verified download in the cache,
    //    else --download (PASCAL VOC), else generated scenes of shapes whose boxes we drew ourselves (and we say so).
    var data = DetectionDataSources.Resolve(new DetectionDataRequest(options.Data, settings.Download, settings.VocYear, settings.SkipBad,
        settings.Scenes, options.Seed, options.CacheFolder), Console.Out, cancellation);
    var classes = data.ClassNames;
    var train = options.MaxSamples is int limit ? data.Train.Take(limit).ToList() : data.Train;
    Console.WriteLine($"Split: {data.SplitMethod}: {train.Count:N0} training, {data.Validation.Count:N0} validation, {data.Test.Count:N0} test images; " +
                      $"{classes.Count} {(classes.Count == 1 ? "class" : "classes")}: {string.Join(", ", classes)}");
    DetectionReports.PrintObjectCounts(train, data.Test, classes, Console.Out);

    // 2. Model: SSD over the backbone's maps at strides 8, 16 and 32 plus three extra layers (40, 20, 10, 5, 3 and 1
    //    cells for a 320-pixel input), 4 or 6 default boxes per cell: 9,590 in all.
    SsdNetwork CreateNetwork()
    {
        var backbone = DetectionBackbones.Create(settings.Backbone, pretrained: true);
        backbone.FreezeUpTo(settings.FreezeUpTo);
        return new SsdNetwork(backbone, classes.Count, settings.ImageSize);
    }
    using var described = CreateNetwork();
    var defaultBoxes = described.DefaultBoxes;
    Console.WriteLine($"Model: SSD{settings.ImageSize} on {described.Backbone.Description}, frozen up to {described.Backbone.LastFrozenStage ?? "none"}; " +
                      $"maps {string.Join(", ", defaultBoxes.Maps.Select(m => $"{m.Size}x{m.Size}x{m.BoxesPerCell}"))} = {defaultBoxes.Count:N0} default boxes");

    // 3. Pictures and targets: training images go through the SSD paper's augmentation (colour distortion, zoom out,
    //    a random crop that keeps objects, a flip) with their boxes following every step; evaluation only resizes.
    //    Each image's objects are then matched to the default boxes.
    int maxObjects = Math.Max(1, data.Train.Concat(data.Validation).Concat(data.Test).Max(image => image.Objects.Count));
    var targets = new SsdTargets(defaultBoxes, maxObjects);
    var decoding = new ImagePipeline { Seed = options.Seed, Strict = true };
    var augmentation = new SsdTrainingAugmentation(settings.ImageSize) { MaxExpandRatio = settings.MaxZoomOut };
    var trainSet = new DetectionBatchSource(train, augmentation, targets, decoding);
    var validationSet = new DetectionBatchSource(data.Validation, DetectionBatchSource.ResizeOnly(settings.ImageSize), targets, decoding);

    // 4. Loss and optimizer: the multibox loss; Adam with a linear warm-up, then a polynomial decay to zero. The layers
    //    SSD adds learn at the full rate, the pretrained backbone at a tenth of it, so its ImageNet features adapt
    //    rather than get overwritten while the heads are still random.
    var loss = MultiBoxLoss.Create(defaultBoxes.Count);
    int stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
    int warmupSteps = Math.Max(1, settings.WarmupEpochs * stepsPerEpoch), totalSteps = Math.Max(warmupSteps + 1, options.Epochs * stepsPerEpoch);
    var schedule = new SequentialSchedule(stepsPerEpoch)
        .Add(Warmup.Between(options.LearningRate / 100, options.LearningRate, warmupSteps), warmupSteps)
        .Add(new Poly(options.LearningRate, 0.9, totalSteps - warmupSteps), int.MaxValue);
    double backboneShare = settings.Backbone == DetectionBackbones.ResNet18 ? 0.1 : 1;
    optim.Optimizer CreateOptimizer(IEnumerable<Parameter> parameters)
    {
        var trainable = parameters.Where(p => p.requires_grad).ToList();
        var pretrained = described.Backbone.parameters().Count(p => p.requires_grad); // the backbone's come first
        return optim.Adam([
            new Adam.ParamGroup(trainable.Take(pretrained), new Adam.Options { LearningRate = options.LearningRate * backboneShare }),
            new Adam.ParamGroup(trainable.Skip(pretrained), new Adam.Options { LearningRate = options.LearningRate })], options.LearningRate);
    }

    // 5. Training: data-parallel (--master local[N], cluster or mpi); every epoch the validation loss and mAP@0.5,
    //    the weights of the best epoch kept.
    var postProcessing = new SsdPostProcessing();
    var map = new MeanAveragePrecisionValidation(classes, defaultBoxes, maxObjects, postProcessing, settings.Metric);
    using var trainer = new Trainer(CreateNetwork, CreateOptimizer, loss, run.Settings with
    {
        Schedule = schedule,
        ValidationMethods = [new LossValidation(loss)], SetValidationMethods = [map],
        MonitoredMetric = MeanAveragePrecisionValidation.Name, RestoreBestEpoch = true,
    });
    var result = trainer.Fit(trainSet, validationSet, cancellation);
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    var network = (SsdNetwork)trainer.Model;
    Console.WriteLine($"Kept the weights of epoch {result.BestEpoch + 1} (best validation mAP@0.5 {result.Epochs[result.BestEpoch ?? ^1].Validation[MeanAveragePrecisionValidation.Name]:F3})");
    string trainingChart = run.Summaries.WriteChart(run.PathTo("training.png"), $"SSD{settings.ImageSize} ({settings.Backbone}) on {data.Name}",
        validationMetrics: ["val_" + MeanAveragePrecisionValidation.Name]);

    // 6. Save the model (weights + description) and load it back as a user would.
    string modelPath = Path.Combine(options.Output, "model.bin");
    var description = new SsdModelDescription(settings.Backbone, classes, settings.ImageSize, network.Backbone.LastFrozenStage, data.Name, data.Source.ToMetricName(), TestMap: null);
    SavedModel.Save(modelPath, network, description.Architecture, description);
    using var detector = SsdDetector.Load(modelPath);

    // 7. Evaluation on the test images: detections in each image's own pixels, the VOC mAP@0.5 (per-class AP, the
    //    precision-recall curves), and the detections and ground truth as text files that `evaluate` scores again.
    var testDetections = detector.DetectAll(data.Test.Select(image => image.Path).ToList(), progress: done => DetectionReports.Progress("Test detections", done, data.Test.Count));
    var test = VocAveragePrecision.Evaluate(classes, data.Test.Select((image, i) => new ImageDetections(image.Id, image.Objects, testDetections[i])).ToList(), settings.Metric);
    DetectionEvaluation.WriteTable(test, Console.Out);
    string curves = PrecisionRecallChart.Write(run.PathTo("precision-recall.png"), test, $"Test precision-recall ({data.Name}, {data.Test.Count} images)");
    string textFolder = DetectionReports.WriteTextFiles(run.PathTo("test"), data.Test, testDetections, classes);
    SavedModel.Save(modelPath, network, description.Architecture, description with { TestMap = test.MeanAveragePrecision });

    // 8. Pictures: test images with their detections beside the ground truth, and annotated frames with a GIF.
    string strip = run.PathTo("test-predictions.png");
    DetectionPictures.WriteStrip(strip,
        data.Test.Take(8).Select((image, i) => (image.Path, testDetections[i], image.Objects)).ToList(), classes, settings.Threshold,
        $"Predictions (left, score >= {settings.Threshold:0.##}) and ground truth (right), {data.Name}");
    var annotated = DetectionReports.AnnotateExamples(run.PathTo("predictions"), data.Test.Take(24).ToList(), testDetections, classes, settings.Threshold);

    var metrics = new Dictionary<string, double>
    {
        ["test_map@0.5"] = test.MeanAveragePrecision,
        ["validation_map@0.5"] = result.Epochs[result.BestEpoch ?? ^1].Validation[MeanAveragePrecisionValidation.Name],
        ["best_epoch"] = (result.BestEpoch ?? result.EpochsCompleted - 1) + 1,
    };
    foreach (var perClass in test.PerClass)
        if (perClass.AveragePrecision is double ap) metrics[$"test_ap@0.5_{MetricNames.Part(perClass.ClassName)}"] = ap;
    // The results: metrics.json (recipe, data, epochs, workers, time, batch, master and seed are filled in by the run).
    string report = run.WriteReport(data.Name, data.Source, result, metrics, new Dictionary<string, object?>
    {
        ["seconds"] = Math.Round(run.Elapsed.TotalSeconds, 1), ["split"] = data.SplitMethod, ["metric"] = settings.Metric == ApInterpolation.AllPoints ? "voc (all points)" : "voc07 (11 points)",
        ["train_images"] = train.Count, ["validation_images"] = data.Validation.Count, ["test_images"] = data.Test.Count, ["skipped_files"] = data.SkippedFiles,
        ["backbone"] = settings.Backbone, ["image_size"] = settings.ImageSize, ["frozen_up_to"] = network.Backbone.LastFrozenStage,
        ["default_boxes"] = defaultBoxes.Count,
        // Process memory after each epoch: flat when every step's tensors are disposed.
        ["memory_mb_per_epoch"] = result.Epochs.Select(e => Math.Round(e.ProcessMemoryMegabytes)).ToArray(),
        ["model"] = modelPath, ["test_text_files"] = textFolder, ["charts"] = new[] { trainingChart, curves, strip, annotated.GifPath },
    });
    Console.WriteLine($"Test mAP@0.5 {test.MeanAveragePrecision:F3} ({settings.Metric switch { ApInterpolation.AllPoints => "VOC all-point", _ => "VOC07 11-point" }}) " +
                      $"on {data.Test.Count} images of {data.Name} ({data.Source.ToMetricName()}); SSD300 on VOC07 test: 0.772 (paper), MobileNet-SSD 0.727");
    Console.WriteLine($"Wrote {report}, {trainingChart}, {curves}, {strip}, {annotated.GifPath}, {modelPath}");
    return 0;
}
