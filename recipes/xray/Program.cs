// Chest X-ray diagnosis, CheXNet-style: 14 findings on NIH ChestX-ray14 from an ImageNet backbone.
//
// The workshop's capstone. A radiograph can show several findings at once (an enlarged heart and fluid at the
// lung bases), so this is multi-label classification: one sigmoid per finding, binary cross-entropy, and
// per-finding AUC-ROC as the metric, as in CheXNet (Rajpurkar et al. 2017). Images are split BY PATIENT (the
// seed split by image, so follow-up films of one patient sat on both sides and flattered its score). The
// network is an ImageNet ResNet-18 whose last stages are fine-tuned, with global average pooling, dropout and a
// dense layer of 14 logits; its class activation maps show where it looked. Expect a mean AUC above 0.9 on the
// generated phantoms (offline default, about 10 minutes on 2 cores), about 0.6 on the 414-image starter
// sample; on the full release (never run here) the seed reported 0.809 with ResNet-50 and CheXNet 0.841.
//
//   dotnet run --project recipes/xray -c Release                                            # offline: GENERATED phantoms
//   dotnet run --project recipes/xray -c Release -- --data ../shared/data/chestxray14-starter
//   dotnet run --project recipes/xray -c Release -- --download --parts 2                    # NIH archives 1-2 (7 GB)
//   dotnet run --project recipes/xray -c Release -- predict --model artifacts/xray/model.bin IMAGE.png
//   dotnet run --project recipes/xray -c Release -- evaluate --model artifacts/xray/model.bin --data DIR
//   dotnet run --project recipes/xray -c Release -- serve --model artifacts/xray/model.bin          # HTTP service and page
using Recipes.Runtime.Data;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Training;
using Recipes.Runtime.Training.Optimization;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using Recipes.Xray;
using TorchSharp.Modules;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("xray", "Diagnose 14 findings on chest X-rays (NIH ChestX-ray14) with an ImageNet backbone, CheXNet-style.",
    new RecipeDefaults(Epochs: 5, BatchSize: 16, LearningRate: 1e-4));
var settings = new XrayOptions(cli.Root);
cli.SetAction((parsed, options, cancellation) => Train(options, settings.Read(parsed), cancellation));
cli.SetAction((parsed, options, _) => XrayCommands.Predict(options, parsed.GetValue(settings.Model), parsed.GetValue(settings.Image)!), settings.PredictCommand);
cli.SetAction((parsed, options, _) => XrayCommands.Evaluate(options, parsed.GetValue(settings.Model), parsed.GetValue(settings.SkipMissing)), settings.EvaluateCommand);
// `serve`: the saved model behind an HTTP service (see XrayServing.cs).
ServeCommand.Add(cli, XrayServing.Load);
return cli.Invoke(args);

static int Train(CommonOptions options, XraySettings settings, CancellationToken cancellation)
{
    // The run's plumbing (wall clock, output folder, progress display, summaries, metrics.json): the runtime's RecipeRun.
    // Its progress lines show the mean AUC, not all 14 findings'.
    using var run = RecipeRun.Start(options, showScore: name => !name.StartsWith("auc_", StringComparison.Ordinal));
    var findings = ChestXrayFindings.Names;

    // 1. Data: --data (NIH layout), else a verified download in the cache, else --download, else generated
    //    phantom radiographs whose lesions we drew ourselves (and we say so). Then split BY PATIENT: with NIH's
    //    official lists their test list is the test set; otherwise 70/10/20 of the patients.
    var data = ChestXrayDataSources.Resolve(options, settings, Console.Out);
    var split = PatientSplit.Split(data.Set.Images, data.Set.OfficialTrainVal, data.Set.OfficialTest, options.Seed);
    var train = options.MaxSamples is int limit ? split.Train.Take(limit).ToList() : split.Train;
    Console.WriteLine($"Split: {split.Method}: {train.Count:N0} training, {split.Validation.Count:N0} validation, {split.Test.Count:N0} test images; " +
                      $"patients in more than one part: {split.PatientOverlap}");
    XrayReports.PrintPrevalence(train, split.Test, findings, Console.Out);

    // 2. Pictures: grey (the release has a few RGBA and 16-bit files) in three equal channels, resized to 256;
    //    training sees a random 224 crop, a horizontal flip half the time and a brightness change, evaluation
    //    the centre 224 crop. The network normalises the pixels as its ImageNet weights expect.
    var trainingPictures = new ImagePipeline
    {
        Seed = options.Seed, Strict = true,
        Transform = new ImageChain([new Resize(256, 256), new Greyscale(), new RandomCrop(224, 224),
            new RandomApplication(new HorizontalFlip(), 0.5), new Brightness(-24, 24)]),
    };
    var evaluationPictures = XrayCommands.EvaluationPictures(options.Seed);
    var trainSet = new ChestXrayBatchSource(train, trainingPictures);
    var validationSet = new ChestXrayBatchSource(split.Validation, evaluationPictures);
    var testSet = new ChestXrayBatchSource(split.Test, evaluationPictures);

    // 3. Model: the backbone's convolutional stages, global average pooling, Dropout(0.2), Dense(14); the stages
    //    up to --freeze-up-to keep their ImageNet weights. Loss: binary cross-entropy on the 14 logits, each
    //    finding's positives optionally weighted by how rare they are (--class-weights). Each replica of
    //    --master local[N] draws its dropout masks from its own seeded stream, so the same command trains the same model.
    int replicasBuilt = 0;
    ChestXrayNetwork CreateNetwork() => ChestXrayArchitectures.Create(settings.Architecture, findings.Count, settings.WeightsFile, TextWriter.Null,
        dropoutStream: options.Seed * 1000L + replicasBuilt++).FreezeUpTo(settings.FreezeUpTo);
    using (var described = ChestXrayArchitectures.Create(settings.Architecture, findings.Count, settings.WeightsFile, Console.Out).FreezeUpTo(settings.FreezeUpTo))
        Console.WriteLine($"Model: {settings.Architecture}, stages {string.Join(" ", described.StageNames)} (frozen up to {settings.FreezeUpTo ?? "none"}), " +
                          $"GAP, Dropout(0.2), Dense({described.FeatureChannels} -> {findings.Count})");
    float[]? positiveWeights = settings.ClassWeights ? MultiLabelLoss.PositiveWeights(XrayReports.LabelMatrix(train), findings.Count) : null;
    var loss = MultiLabelLoss.BinaryCrossEntropyWithLogits(positiveWeights);

    // 4. Optimizer: Adam with the seed's schedule: a linear warm-up from 1e-7 to the rate, then reduce it
    //    tenfold when the validation mean AUC stops improving by 0.01 (patience 1, floor 1e-15). L2 on the head.
    int stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
    var schedule = SequentialSchedule.WarmupThenPlateau(stepsPerEpoch, settings.WarmupEpochs, fromRate: 1e-7, toRate: options.LearningRate,
        factor: 0.1, patience: 1, mode: PlateauMode.Max, epsilon: 0.01, minRate: 1e-15);
    optim.Optimizer CreateOptimizer(IEnumerable<Parameter> parameters)
    {
        var trainable = parameters.Where(p => p.requires_grad).ToList();
        var headWeights = trainable.Where(p => p.shape.Length == 2).ToList(); // the dense layer's matrix: the only 2-D parameter
        var rest = trainable.Except(headWeights).ToList();
        return optim.Adam([
            new Adam.ParamGroup(headWeights, new Adam.Options { LearningRate = options.LearningRate, weight_decay = settings.L2 }),
            new Adam.ParamGroup(rest, new Adam.Options { LearningRate = options.LearningRate })], options.LearningRate);
    }

    // 5. Training: data-parallel (--master local[N], cluster or mpi); every epoch the validation loss and the AUC
    //    of each finding, their mean driving the schedule; the best epoch's weights are kept.
    var auc = new MultiLabelAucValidation(findings);
    using var trainer = new Trainer(CreateNetwork, CreateOptimizer, loss, run.Settings with
    {
        Schedule = schedule,
        ValidationMethods = [new LossValidation(loss)], SetValidationMethods = [auc],
        MonitoredMetric = MultiLabelAucValidation.MeanName, RestoreBestEpoch = true,
    });
    var result = trainer.Fit(trainSet, validationSet, cancellation);
    if (result.Interrupted) return RecipeHost.ExitInterrupted;
    var network = (ChestXrayNetwork)trainer.Model;
    Console.WriteLine($"Kept the weights of epoch {result.BestEpoch + 1} (best validation mean AUC {result.Epochs[result.BestEpoch ?? 0].Validation[MultiLabelAucValidation.MeanName]:F3})");
    string history = XrayCharts.WriteAucHistory(run.PathTo("auc-per-epoch.png"), findings,
        result.Epochs.Select(e => e.Epoch + 1).ToList(), result.Epochs.Select(e => MultiLabelAucValidation.PerClass(e.Validation, findings)).ToList(),
        result.Epochs.Select(e => e.Validation[MultiLabelAucValidation.MeanName]).ToList(), $"Validation AUC per epoch ({data.Name})");
    string trainingChart = run.Summaries.WriteChart(run.PathTo("training.png"), $"{settings.Architecture} on {data.Name}",
        validationMetrics: ["val_" + MultiLabelAucValidation.MeanName]);

    // 6. Evaluation on the test patients: AUC per finding and their mean (a finding with no positive or no
    //    negative among them has no AUC and is left out of the mean, never counted as 0.5), and the ROC curves.
    var testScores = trainer.Evaluate(testSet, [new LossValidation(loss)], setMethods: [auc]);
    var testAuc = auc.Last!;
    XrayReports.PrintAucTable(testAuc, Console.Out);
    string rocCurves = XrayCharts.WriteRocCurves(run.PathTo("roc-curves.png"), findings, auc.LastCurves(), $"Test ROC curves ({data.Name}, {split.Test.Count} images)");

    // 7. Save the model (weights + description), load it back as a user would.
    string modelPath = Path.Combine(options.Output, "model.bin");
    SavedModel.Save(modelPath, network, $"{settings.Architecture} + CheXNet head", new ChestXrayModelDescription(settings.Architecture, findings, 256, 224,
        network.LastFrozenStage, data.Name, data.Source.ToMetricName(), testAuc.Mean));
    var (reloaded, _) = SavedModel<ChestXrayModelDescription>.Load(modelPath, ChestXrayArchitectures.CreateForSavedModel);
    using var _reloaded = reloaded;

    // 8. Predict: the reloaded model on one test image (a probability table), and heatmaps of the top finding on
    //    a strip of test images; on phantoms, how often the heatmap's peak lies inside the lesion we drew.
    var example = split.Test.FirstOrDefault(image => image.Labels.Any(label => label > 0)) ?? split.Test[0];
    var prediction = XrayCommands.PredictOne(reloaded, example.Path, evaluationPictures, findings);
    XrayReports.PrintProbabilities(example.Path, prediction.Probabilities, findings, ChestXrayFindings.Format(example.Labels), Console.Out);
    var heatmaps = XrayHeatmaps.WriteTestStrip(run.PathTo("heatmaps.png"), reloaded, split.Test, evaluationPictures, findings, data.Lesions, count: 8);
    if (heatmaps.Localisation is { } located)
        Console.WriteLine($"Heatmaps: the peak lies inside the drawn lesion for {located.Inside} of {located.Total} positive findings of the test phantoms " +
                          $"({located.Rate:P0}; a peak put at random would land inside {located.ChanceRate:P0} of the time)");

    var metrics = new Dictionary<string, double>
    {
        ["test_mean_auc"] = testAuc.Mean,
        ["test_loss"] = testScores["loss"],
        ["validation_mean_auc"] = result.Epochs[result.BestEpoch ?? ^1].Validation[MultiLabelAucValidation.MeanName],
        ["best_epoch"] = (result.BestEpoch ?? result.EpochsCompleted - 1) + 1,
        ["patient_overlap"] = split.PatientOverlap,
    };
    for (int c = 0; c < findings.Count; c++) metrics[$"test_auc_{MetricNames.Part(findings[c])}"] = testAuc.PerClass[c];
    if (heatmaps.Localisation is { } localisation)
    {
        metrics["heatmap_peak_in_lesion"] = localisation.Rate;
        metrics["heatmap_peak_in_lesion_by_chance"] = localisation.ChanceRate;
    }
    // The results: metrics.json (recipe, data, epochs, workers, time, batch, master and seed are filled in by the run).
    string report = run.WriteReport(data.Name, data.Source, result, metrics, new Dictionary<string, object?>
    {
        ["seconds"] = Math.Round(run.Elapsed.TotalSeconds, 1), ["split"] = split.Method,
        ["train_images"] = train.Count, ["validation_images"] = split.Validation.Count, ["test_images"] = split.Test.Count,
        ["undefined_auc"] = testAuc.UndefinedClasses, ["architecture"] = settings.Architecture, ["frozen_up_to"] = network.LastFrozenStage,
        ["class_weights"] = settings.ClassWeights,
        // Process memory after each epoch: flat when every step's tensors are disposed.
        ["memory_mb_per_epoch"] = result.Epochs.Select(e => Math.Round(e.ProcessMemoryMegabytes)).ToArray(),
        ["model"] = modelPath, ["charts"] = new[] { trainingChart, history, rocCurves, heatmaps.Path },
    });
    Console.WriteLine($"Test mean AUC {testAuc.Mean:F3} over {testAuc.DefinedClasses} findings ({data.Name}, {data.Source.ToMetricName()}); " +
                      $"seed ResNet-50 0.809 (split by image), CheXNet 0.841");
    Console.WriteLine($"Wrote {report}, {trainingChart}, {history}, {rocCurves}, {heatmaps.Path}, {modelPath}");
    return 0;
}
