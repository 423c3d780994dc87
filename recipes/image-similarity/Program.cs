// Image similarity: find the pictures that look most like a query, by ImageNet features.
//
// The last recipe of the workshop (the seed's image-similarity notebook): describe every picture of a folder
// by the 512 features of an ImageNet ResNet-18 (cut at its pooling layer), L2-normalised so that a dot
// product is the cosine similarity, and keep them with their paths in an index file. A query returns the
// top K pictures by cosine, and a picture of the query beside its results. Optionally (--fine-tune), as in
// the seed, a classifier trained on the folder's labels adds 1 to the score of results of the query's
// predicted class. Precision@K with leave-one-out queries over the labelled folder says how often the
// neighbours share the query's class: expect about 0.95 precision@1 and 0.9 precision@5 on the cats-dogs
// sample, and about 1.0 on the generated textures.
//
//   dotnet run --project recipes/image-similarity -c Release                                  # offline: GENERATED textures
//   dotnet run --project recipes/image-similarity -c Release -- --data ../shared/data/cats-dogs --query some.jpg
//   dotnet run --project recipes/image-similarity -c Release -- --data ../shared/data/cats-dogs --fine-tune
//   dotnet run --project recipes/image-similarity -c Release -- serve --model artifacts/image-similarity/index.bin
using Recipes.ImageSimilarity;
using Recipes.Runtime.Data;
using Recipes.Runtime.Distributed;
using Recipes.Runtime.Models.ImageNet;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Training;
using Recipes.Runtime.Vision;
using Recipes.Serving;
using TorchSharp;
using static TorchSharp.torch;

var cli = new RecipeCommandLine("image-similarity", "Index pictures by ImageNet ResNet-18 features and find the most similar ones.",
    new RecipeDefaults(Epochs: 20, BatchSize: 32, LearningRate: 0.01));
var similarity = new ImageSimilarityOptions(cli.Root); // --query, --top, --backbone, --fine-tune (ImageSimilarityOptions.cs)
cli.SetAction((parsed, options, _) => Run(options, similarity.Read(parsed)));
// `image-similarity serve`: query the saved index by upload over HTTP (see ImageSimilarityServing.cs).
ServeCommand.Add(cli, ImageSimilarityServing.Load);
return cli.Invoke(args);

static int Run(CommonOptions options, ImageSimilaritySettings settings)
{
    var (queryPath, k, backend, fineTune) = settings;
    // The run's plumbing (wall clock, output folder, metrics.json): the runtime's RecipeRun.
    using var run = RecipeRun.Start(options);
    var askedQuery = queryPath is null ? null : ImageSet.FromFile(queryPath)[0];

    // 1. Data: a labelled folder (class folders, train/ and test/ ones, or cat.1.jpg-style names) indexed whole,
    //    else generated textures (and we say so). The labels are only used to measure precision@K.
    var data = ImageClassificationData.Resolve(options.Data, options.Seed, Console.Out);
    var pictures = new ImageSet(data.Train.Entries.Concat(data.Test.Entries), data.ClassNames);
    if (options.MaxSamples is int limit) pictures = pictures.Split(Math.Min(1.0, (double)limit / pictures.Count), options.Seed).First;
    Console.WriteLine($"Data: {data.Name} ({data.Source.ToMetricName()}), {pictures.Count} pictures, classes {string.Join(", ", data.ClassNames)}");

    // 2. Features: short side to 256, centre crop 224, the model's preprocessing, ResNet-18 to its 512 pooled
    //    features. The crop is always 224x224, a 5:1 panorama too; an image past 16:1 is skipped and listed.
    var pipeline = new ImagePipeline { Transform = new ImageChain([new ScaleShortSide(256), new CenterCrop(224, 224)]) };
    using var preprocessing = ImageNetResNet18.LoadPreprocessing();
    using var extractor = ImageNetResNet18.FeatureExtractor(backend);
    Tensor Features(Tensor rgb) { using var input = preprocessing.Apply(rgb); return extractor.Extract(input); }
    var skipped = new SkippedImages();
    var (kept, features, dimension) = ImageFeatureExtraction.Extract(pictures, pipeline, Features, skipped);
    foreach (var item in skipped.Items) Console.WriteLine($"skipped {item.Origin}: {item.Problem}");
    Console.WriteLine($"Features: {kept.Count} pictures x {dimension} by {extractor.Description}");

    // 3. Model (optional): a Dense head on the frozen features, trained on the labels, predicts each picture's class.
    int[]? predictedClasses = fineTune ? TrainClassifier(features, kept, data.ClassNames.Count, options) : null;

    // 4. Index: L2-normalised features with paths and labels, saved and read back.
    //    Files are kept by their full path, so `serve` finds them to show whatever folder it runs from.
    var index = new ImageFeatureIndex(kept.Select(e => new IndexedImage(File.Exists(e.Origin) ? Path.GetFullPath(e.Origin) : e.Origin, e.Label)).ToList(),
        features, dimension, data.ClassNames, extractor.Description);
    string indexPath = run.PathTo("index.bin");
    index.Save(indexPath);
    index = ImageFeatureIndex.Load(indexPath);

    // 5. Evaluation: leave-one-out precision@1 and @K over the labelled pictures.
    double precision1 = index.LeaveOneOutPrecision(1), precisionK = index.LeaveOneOutPrecision(k);
    Console.WriteLine($"Leave-one-out precision@1 {precision1:F3}, precision@{k} {precisionK:F3} (cosine)");
    var metrics = new Dictionary<string, double> { ["precision@1"] = precision1, [$"precision@{k}"] = precisionK };
    if (predictedClasses is not null)
    {
        // The classifier was trained on these labels, so this is an optimistic, in-sample figure.
        double bonus1 = index.LeaveOneOutPrecision(1, predictedClasses), bonusK = index.LeaveOneOutPrecision(k, predictedClasses);
        Console.WriteLine($"With the classifier's class bonus: precision@1 {bonus1:F3}, precision@{k} {bonusK:F3} (in-sample)");
        metrics["precision@1_with_class_bonus"] = bonus1;
        metrics[$"precision@{k}_with_class_bonus"] = bonusK;
    }

    // 6. Queries: --query, else the first usable test picture of each class; top K and a picture of each.
    var queries = askedQuery is not null ? [askedQuery]
        : data.Test.Entries.Where(e => !skipped.Contains(e.Origin)).GroupBy(e => e.Label).OrderBy(g => g.Key).Select(g => g.First()).ToList();
    var sections = new List<ContactSheetSection>();
    foreach (var query in queries)
    {
        var frame = pipeline.Process(query, 0, 0);
        using var scope = NewDisposeScope();
        float[] vector = Features(frame.ToTensor().unsqueeze(0)).data<float>().ToArray();
        // A query that is itself indexed must not find itself.
        int position = kept.Select(e => e.Origin).ToList().IndexOf(query.Origin);
        int? exclude = position >= 0 ? position : null;
        var results = index.Query(vector, k, exclude, predictedClasses is null || exclude is null ? null : predictedClasses[exclude.Value], predictedClasses);
        Console.WriteLine($"Query {Path.GetFileName(query.Origin)}: " + string.Join(", ", results.Select(r => $"{Path.GetFileName(r.Image.Path)} {r.Score:F3}")));
        var tiles = new List<ContactSheetTile> { Tile(frame, "query", Path.GetFileName(query.Origin)) };
        foreach (var result in results)
        {
            var match = pipeline.Process(new ImageEntry(result.Image.Path) { EncodedBytes = kept[result.Index].EncodedBytes }, 0, 0);
            string label = result.Image.Label >= 0 ? data.ClassNames[result.Image.Label] : "";
            tiles.Add(Tile(match, $"cos {result.Cosine:F3}" + (result.Score != result.Cosine ? $" +{result.Score - result.Cosine:F0}" : ""), $"{label} · {Path.GetFileName(result.Image.Path)}"));
        }
        sections.Add(new ContactSheetSection($"Query {Path.GetFileName(query.Origin)} and its top {k}", tiles));
    }
    string picture = run.PathTo("similar.png");
    ContactSheet.WritePng(picture, sections, columns: k + 1, scale: 0.6f);

    // The results: metrics.json (recipe, data, time and seed are filled in by the run); the workers are this process's
    // --master local[N] replicas, as nothing here trains across processes.
    string report = run.WriteReport(data.Name, data.Source, epochs: fineTune ? options.Epochs : 0, workers: options.LocalMaster.Replicas, metrics,
        new Dictionary<string, object?>
        {
            ["indexed_images"] = index.Count, ["skipped_images"] = skipped.Count, ["features"] = extractor.Description, ["k"] = k,
            ["index"] = indexPath, ["picture"] = picture, ["queries"] = queries.Select(q => q.Origin).ToArray(),
        });
    Console.WriteLine($"Wrote {report}, {indexPath}, {picture}");
    return 0;
}

static ContactSheetTile Tile(RgbFrame frame, string title, string caption) => new(frame.ToRgbBytes(), frame.Width, frame.Height, title, caption);

// The seed's scene classifier, here a Dense head on the frozen ImageNet features; returns each picture's class.
static int[] TrainClassifier(float[] features, IReadOnlyList<ImageEntry> images, int classCount, CommonOptions options)
{
    using var inputs = torch.tensor(features, [images.Count, features.Length / images.Count]);
    using var labels = torch.tensor(images.Select(e => (long)e.Label).ToArray());
    using var source = new InMemoryBatchSource(inputs.alias(), labels.alias());
    using var trainer = new Trainer(() => nn.Linear(inputs.shape[1], classCount), parameters => optim.Adam(parameters, lr: options.LearningRate),
        (output, target) => nn.functional.cross_entropy(output, target),
        new TrainerSettings { GlobalBatchSize = Math.Min(options.BatchSize, images.Count), Epochs = options.Epochs, Seed = options.Seed, Master = LocalMaster.Parse("local[1]") });
    var result = trainer.Fit(source);
    Console.WriteLine($"Classifier: Dense({inputs.shape[1]}, {classCount}) on frozen features, {options.Epochs} epochs, final loss {result.Epochs[^1].TrainLoss:F4}");
    return Prediction.PredictClasses(trainer.Model, source);
}
