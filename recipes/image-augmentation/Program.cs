// Image augmentation: every operation of the shared vision pipeline, applied to one picture and laid out on
// one contact sheet.
//
// The second recipe of the workshop (the seed's image-augmentation notebook): decode a picture safely, apply
// each of the Analytics Zoo image operations with the seed's parameters, and look at the results side by side,
// drawn at one scale so the sizes compare. Then a training-style random chain (crop, flip, brightness,
// normalise) applied several times to the same picture shows what a model sees from one image across epochs,
// and the parallel batch loader turns the pictures into model-ready CHW tensors. Expect every op to take
// milliseconds (the seed's pixel normalisation took about 59 s on one image).
//
//   dotnet run --project recipes/image-augmentation -c Release                          # offline: a GENERATED scene
//   dotnet run --project recipes/image-augmentation -c Release -- --image ../shared/data/augmentation/test.jpg
//   dotnet run --project recipes/image-augmentation -c Release -- --folder ../shared/data/cats-dogs
using System.Diagnostics;
using System.Globalization;
using Recipes.ImageAugmentation;
using Recipes.Runtime.Data;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Vision;
using Spectre.Console;

var cli = new RecipeCommandLine("image-augmentation", "Apply every image augmentation op to a picture and write a labelled contact sheet.",
    new RecipeDefaults(Epochs: 1, BatchSize: 16, LearningRate: 0.001));
var augmentation = new ImageAugmentationOptions(cli.Root); // --image, --folder, --repeats (ImageAugmentationOptions.cs)
cli.SetAction((parsed, options, cancellation) => Run(options, augmentation.Read(parsed), cancellation));
return cli.Invoke(args);

static int Run(CommonOptions options, ImageAugmentationSettings settings, CancellationToken cancellation)
{
    // The run's plumbing (wall clock, output folder, metrics.json): the runtime's RecipeRun.
    using var run = RecipeRun.Start(options);

    // 1. Data: --image, --folder (or --data, a file or a folder), else a generated scene (and we say so).
    var (imagePath, folderPath) = (settings.ImagePath, settings.FolderPath);
    if (options.Data is string data)
    {
        if (Directory.Exists(data)) folderPath ??= data;
        else imagePath ??= data;
    }
    if (imagePath is not null && folderPath is not null) throw new ArgumentException("give --image or --folder, not both");
    var (pictures, source, datasetName) = imagePath is not null ? (ImageSet.FromFile(imagePath), DataSourceKind.Local, Path.GetFileName(imagePath))
        : folderPath is not null ? (ImageSet.FromFolder(folderPath, labelsFromParentFolder: true), DataSourceKind.Local, Path.GetFileName(Path.GetFullPath(folderPath).TrimEnd('/')))
        : (GeneratedTestScene.AsImageSet(), DataSourceKind.Generated, "generated test scene");
    if (source == DataSourceKind.Generated)
        Console.WriteLine($"Using a GENERATED colourful test scene ({GeneratedTestScene.Width}x{GeneratedTestScene.Height}); --image or --folder for real pictures.");
    if (options.MaxSamples is int limit) pictures = pictures.Take(limit);

    // The pipeline decodes safely: headers first, absurd sizes and truncated files refused, bad files skipped and named.
    var pipeline = new ImagePipeline { Seed = options.Seed };
    var skipped = new SkippedImages();
    var (picture, pictureOrigin) = FirstUsablePicture(pictures, pipeline.Decoder, skipped);
    Console.WriteLine($"Data: {pictures.Count:N0} picture(s) from {datasetName}; augmenting {Path.GetFileName(pictureOrigin)} ({picture.Width}x{picture.Height})");

    // 2. The operations, with the seed notebook's parameters.
    ImageOperation[] operations =
    [
        new Brightness(0, 32),
        new Hue(-18, 18),
        new Saturation(10, 20),
        new Contrast(0.5, 1.5),
        new ChannelOrder(),
        new ColourJitter(),
        new Resize(300, 300),
        new AspectScale(200, maxLongSide: 3000),
        new RandomAspectScale([100, 300]),
        ChannelNormalise.ImageNet,
        // A mean image for pixel normalisation: usually the training set's average; here the picture blurred,
        // so what remains is the detail that differs from its surroundings.
        new PixelNormalise(BlurredMeanImage(picture)),
        new CenterCrop(200, 200),
        new RandomCrop(200, 200),
        new FixedCrop(0, 0, 200, 200),
        new FixedCrop(0.25, 0.25, 0.75, 0.75, normalised: true),
        new Filler(0, 0, 0.5, 0.5, 255),
        new Expand(123, 117, 104, maxRatio: 2),
        new HorizontalFlip(),
        new HorizontalFlip().WithProbability(0.5),
    ];

    // 3. Apply each op to the picture; each gets its own seeded generator, and is timed over a few runs.
    var results = operations.Select((operation, index) => ApplyAndTime(operation, picture, pipeline.RandomFor(0, index))).ToList();

    // 4. A training-style random chain, applied several times to the same picture: a different view each epoch.
    var trainingChain = new RandomCrop(300, 300)
        .Then(new HorizontalFlip().WithProbability(0.5))
        .Then(new Brightness(0, 32).WithProbability(0.5))
        .Then(ChannelNormalise.ImageNet);
    var views = Enumerable.Range(1, settings.Repeats).Select(pass => trainingChain.Apply(picture, pipeline.RandomFor(pass, 0))).ToList();

    // 5. The batch loader: decode and transform in parallel with prefetch, into model-ready CHW tensors.
    var loaderChain = new ScaleShortSide(256).Then(new RandomCrop(224, 224)).Then(new HorizontalFlip().WithProbability(0.5))
        .Then(new Brightness(0, 32).WithProbability(0.5)).Then(ChannelNormalise.ImageNet);
    var loader = new ImageBatchLoader(pipeline with { Transform = loaderChain }, options.BatchSize, workers: options.LocalMaster.Replicas);
    var loaderClock = Stopwatch.StartNew();
    int batches = 0;
    long[] batchShape = [];
    foreach (var batch in loader.Read(pictures, epoch: 0, shuffle: false, cancellation))
    {
        if (batches++ == 0)
        {
            using var input = batch.ToTensor();
            batchShape = input.shape;
        }
    }
    double imagesPerSecond = loader.ImagesDelivered / Math.Max(loaderClock.Elapsed.TotalSeconds, 1e-9);
    foreach (var item in loader.Skipped.Items) skipped.Add(item.Origin, item.Problem);
    Console.WriteLine($"Batch loader: {loader.ImagesDelivered:N0} images in {batches} batches of [{string.Join(", ", batchShape)}], " +
        $"{imagesPerSecond:N0} images/s on {loader.Workers} worker(s)");
    if (skipped.Count > 0)
    {
        AnsiConsole.MarkupLineInterpolated($"[yellow]Skipped {skipped.Count} unusable file(s):[/]");
        foreach (var item in skipped.Items) Console.WriteLine($"  {item.Origin}: {item.Problem}");
    }

    // 6. Results: the table on the console, the contact sheet, metrics.json.
    var table = new Table().AddColumns("op", "output", "values", "what it did", "ms");
    table.AddRow("(original)", $"{picture.Width}x{picture.Height}", RangeText(picture), "", "");
    foreach (var result in results)
        table.AddRow(Markup.Escape(result.Operation.Name), $"{result.Output.Width}x{result.Output.Height}", RangeText(result.Output),
            Markup.Escape(Did(result.Output)), result.Milliseconds.ToString("F2", CultureInfo.InvariantCulture));
    AnsiConsole.Write(table);

    string sheet = run.PathTo("contact-sheet.png");
    WriteContactSheet(sheet, picture, pictureOrigin, results, trainingChain, views);

    var pixelNormalise = results.Single(result => result.Operation is PixelNormalise);
    // Nothing trains here (0 epochs); the workers are the batch loader's.
    string report = run.WriteReport(datasetName, source, epochs: 0, workers: loader.Workers,
        new Dictionary<string, double>
        {
            ["operations"] = results.Count,
            ["pixel_normalise_ms"] = pixelNormalise.Milliseconds,
            ["slowest_op_ms"] = results.Max(result => result.Milliseconds),
            ["loader_images"] = loader.ImagesDelivered,
            ["loader_images_per_second"] = imagesPerSecond,
            ["skipped_images"] = skipped.Count,
        },
        new Dictionary<string, object?>
        {
            ["picture"] = pictureOrigin,
            ["picture_size"] = $"{picture.Width}x{picture.Height}",
            ["contact_sheet"] = sheet,
            ["operations"] = results.Select(result => new Dictionary<string, object>
            {
                ["op"] = result.Operation.Name,
                ["width"] = result.Output.Width,
                ["height"] = result.Output.Height,
                ["min"] = Math.Round(result.Output.ValueRange().Min, 3),
                ["max"] = Math.Round(result.Output.ValueRange().Max, 3),
                ["did"] = Did(result.Output),
                ["milliseconds"] = Math.Round(result.Milliseconds, 3),
            }).ToList(),
            ["training_chain"] = trainingChain.Name,
            ["training_views"] = views.Select(Did).ToList(),
            ["loader_batch_shape"] = batchShape,
            ["skipped"] = skipped.Items.Select(item => new Dictionary<string, string> { ["file"] = item.Origin, ["problem"] = item.Problem }).ToList(),
        });
    Console.WriteLine($"Wrote {report}, {sheet}");
    return 0;
}

// The first picture of the set that decodes; the ones before it are skipped and named.
static (RgbFrame Picture, string Origin) FirstUsablePicture(ImageSet pictures, SafeImageDecoder decoder, SkippedImages skipped)
{
    foreach (var entry in pictures.Entries)
    {
        try
        {
            return (entry.Decode(decoder), entry.Origin);
        }
        catch (DataFileException error)
        {
            skipped.Add(error.FilePath, error.Problem);
        }
    }
    throw new RecipeException($"none of the {pictures.Count} picture(s) could be decoded: {string.Join("; ", skipped.Items.Take(3).Select(item => $"{item.Origin}: {item.Problem}"))}");
}

// A smooth stand-in for a data set's mean image: the picture shrunk 16 times and enlarged back.
static RgbFrame BlurredMeanImage(RgbFrame picture) =>
    new Resize(picture.Width, picture.Height).Apply(new Resize(Math.Max(1, picture.Width / 16), Math.Max(1, picture.Height / 16)).Apply(picture, 0), 0);

static (ImageOperation Operation, RgbFrame Output, double Milliseconds) ApplyAndTime(ImageOperation operation, RgbFrame picture, Random random)
{
    var output = operation.Apply(picture, random);
    // A few untimed runs first, so the timed ones run optimised code rather than the JIT's first draft.
    for (int run = 0; run < 3; run++) operation.Apply(picture, new Random(run));
    const int runs = 5;
    var clock = Stopwatch.StartNew();
    for (int run = 0; run < runs; run++) operation.Apply(picture, new Random(run));
    return (operation, output, clock.Elapsed.TotalMilliseconds / runs);
}

static string Did(RgbFrame frame) => frame.History.Count == 0 ? "unchanged" : string.Join("; ", frame.History);

static string RangeText(RgbFrame frame)
{
    var (min, max) = frame.ValueRange();
    return string.Create(CultureInfo.InvariantCulture, $"{min:0.##}..{max:0.##}");
}

static void WriteContactSheet(string path, RgbFrame picture, string origin, IReadOnlyList<(ImageOperation Operation, RgbFrame Output, double Milliseconds)> results,
    ImageOperation trainingChain, IReadOnlyList<RgbFrame> views)
{
    // One scale for every tile, so sizes compare; the largest output (a 2x expand) sets it.
    int largest = results.Max(result => Math.Max(result.Output.Width, result.Output.Height));
    float scale = Math.Min(1f, 400f / largest);

    ContactSheetTile Tile(RgbFrame frame, string title, string detail)
    {
        byte[] rgb = frame.ToDisplayBytes(out var stretched);
        string size = $"{frame.Width}x{frame.Height}";
        string shown = stretched is { } range ? string.Create(CultureInfo.InvariantCulture, $"; shown from {range.Low:0.#}..{range.High:0.#}") : "";
        return new ContactSheetTile(rgb, frame.Width, frame.Height, title, $"{size}{(detail.Length > 0 ? " · " + detail : "")}{shown}");
    }

    var operationTiles = new List<ContactSheetTile> { Tile(picture, "(original)", Path.GetFileName(origin)) };
    operationTiles.AddRange(results.Select(result => Tile(result.Output, result.Operation.Name, Did(result.Output))));

    // The training views share one display range, so their brightness differences stay visible.
    float low = views.Min(view => view.ValueRange().Min), high = views.Max(view => view.ValueRange().Max);
    var viewTiles = views.Select((view, i) => new ContactSheetTile(view.ToRgbBytes(low, high), view.Width, view.Height, $"view {i + 1}",
        // What happened to this view; skipped steps and the normalisation every view gets are left out.
        string.Join(" · ", view.History.Where(step => !step.StartsWith("skipped", StringComparison.Ordinal) && !step.StartsWith("channel normalised", StringComparison.Ordinal))))).ToList();

    ContactSheet.WritePng(path,
    [
        new ContactSheetSection($"Every op on {Path.GetFileName(origin)}, all drawn at {scale:0.##}x so sizes compare (name, output size, what it did)", operationTiles),
        new ContactSheetSection($"Training chain {trainingChain.Name}, applied {views.Count} times (normalised values shown from {low:0.##}..{high:0.##})", viewTiles),
    ], columns: 5, scale);
}
