using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Serving;

/// <summary>What the web page draws for an answer of <c>POST /predict</c>; each kind has its answer record below.</summary>
public enum ResultKind
{
    /// <summary><see cref="ClassificationAnswer"/>: top classes as bars (mnist, transfer-learning).</summary>
    Classes,
    /// <summary><see cref="HeatmapAnswer"/>: classes plus a heatmap laid over the uploaded image (xray).</summary>
    Heatmap,
    /// <summary><see cref="BoxesAnswer"/>: labelled boxes drawn on the uploaded image (object-detection).</summary>
    Boxes,
    /// <summary><see cref="NeighboursAnswer"/>: the most similar stored images (image-similarity).</summary>
    Neighbours,
    /// <summary><see cref="RecommendationsAnswer"/>: top items for a user picked on the page (ncf-recommendation).</summary>
    Recommendations,
}

/// <summary>What <c>POST /predict</c> takes: an uploaded image, or a user id (<c>?user=42</c>, or a form field <c>user</c>).</summary>
public enum PredictInputKind { Image, User }

/// <summary>
/// One <c>POST /predict</c> request after the service checked it: the decoded image (already refused if it was
/// not an image, truncated, or declared too many pixels) or the user id, plus the query string's parameters
/// (e.g. <c>top=3</c>). The service disposes the image after the answer is written.
/// </summary>
public sealed class PredictRequest(Image<Rgb24>? image, long? user, IReadOnlyDictionary<string, string> parameters) : IDisposable
{
    public Image<Rgb24>? Image { get; } = image;
    public long? User { get; } = user;
    public IReadOnlyDictionary<string, string> Parameters { get; } = parameters;

    /// <summary>The decoded image; only <see cref="PredictInputKind.Image"/> models are given requests, so it is there.</summary>
    public Image<Rgb24> RequireImage() => Image ?? throw new InvalidInputException("this model takes an image");

    public long RequireUser() => User ?? throw new InvalidInputException("this model takes a user id: ?user=ID");

    /// <summary>An integer parameter of the query string within [min, max], or the default when absent.</summary>
    public int IntParameter(string name, int defaultValue, int min, int max)
    {
        if (!Parameters.TryGetValue(name, out string? text)) return defaultValue;
        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            throw new InvalidInputException($"parameter '{name}' must be an integer from {min} to {max}, not '{text}'");
        return value;
    }

    public void Dispose() => Image?.Dispose();
}

/// <summary>
/// What a recipe supplies to be served: the one abstraction between a recipe and the HTTP service.
/// <list type="bullet">
/// <item><see cref="Name"/>: the model's name in the URLs (<c>/v2/models/mnist</c>): the recipe's.</item>
/// <item><see cref="Model"/>: the loaded, thread-safe model (an <c>InferenceModel</c> over TorchSharp or ONNX Runtime
/// copies); <c>/v2/models/{name}/infer</c> calls it with the client's tensors as they come.</item>
/// <item><see cref="Input"/> and <see cref="ToModelInputs"/>: how a <c>/predict</c> body (an image or a user id)
/// becomes the model's input tensors, one row: the preprocessing of training (size, normalisation).</item>
/// <item><see cref="ToAnswer"/>: how the model's outputs become the JSON answer, one of the answer records below
/// (<see cref="ClassificationAnswer"/>, <see cref="HeatmapAnswer"/>, <see cref="BoxesAnswer"/>,
/// <see cref="NeighboursAnswer"/>, <see cref="RecommendationsAnswer"/>), serialised in snake_case.</item>
/// <item><see cref="Kind"/>: which result the web page draws; <see cref="PageSettings"/>: anything more it needs
/// (the users of the picker, say), served in <c>GET /ui/config</c>.</item>
/// </list>
/// Both conversions throw <see cref="InvalidInputException"/> for a request that does not fit (a 400). A classifier
/// needs only <see cref="ImageClassifierServing"/> and its preprocessing; a new kind derives from this class.
/// The service owns the instance once started and disposes it (and so <see cref="Model"/>) when it stops.
/// </summary>
public abstract class ServedModel(string name, IInferenceModel model, ResultKind kind, PredictInputKind input = PredictInputKind.Image) : IDisposable
{
    public string Name { get; } = ValidName(name);
    public IInferenceModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));
    public ResultKind Kind { get; } = kind;
    public PredictInputKind Input { get; } = input;

    /// <summary>The model's inputs for one <c>/predict</c> request (a batch of one, most often).</summary>
    public abstract IReadOnlyList<NamedTensor> ToModelInputs(PredictRequest request);

    /// <summary>The JSON answer of <c>/predict</c> from the outputs the model gave for <paramref name="request"/>.</summary>
    public abstract object ToAnswer(PredictRequest request, IReadOnlyList<NamedTensor> outputs);

    /// <summary>Extra settings for the web page (null for none), served as <c>page</c> in <c>GET /ui/config</c>.</summary>
    public virtual object? PageSettings => null;

    /// <summary>
    /// A stored image the model's answers point at (<see cref="Neighbour.ImageUrl"/>), served as <c>GET /images/{id}</c>;
    /// null when <paramref name="id"/> names none. Only the model decides what an id means: a client never gives a path.
    /// </summary>
    public virtual StoredImage? FindStoredImage(string id) => null;

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) Model.Dispose();
    }

    /// <summary>The output named <paramref name="name"/>, or a clear error naming what the model gave.</summary>
    protected static NamedTensor Output(IReadOnlyList<NamedTensor> outputs, string name) =>
        outputs.FirstOrDefault(output => output.Name == name)
        ?? throw new InvalidOperationException($"the model gave no output '{name}' (it gave {string.Join(", ", outputs.Select(o => o.Name))})");

    static string ValidName(string name)
    {
        // The name is a URL path segment: keep it to what needs no escaping.
        if (string.IsNullOrEmpty(name) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new ArgumentException($"model name '{name}': use letters, digits, '-', '_' or '.'");
        return name;
    }
}

/// <summary>One class and its probability.</summary>
public sealed record ClassScore(string Label, int Index, double Probability);

/// <summary><see cref="ResultKind.Classes"/>: the top classes, most probable first.</summary>
public sealed record ClassificationAnswer(string Model, IReadOnlyList<ClassScore> Classes);

/// <summary>
/// <see cref="ResultKind.Heatmap"/>: the top classes and a <paramref name="Width"/> x <paramref name="Height"/> map of
/// values in [0, 1], row-major, covering the whole uploaded image (the page stretches it over the image).
/// </summary>
/// <summary><see cref="ResultKind.Heatmap"/>: the classes and the heatmap of one of them (<paramref name="Finding"/>), cells
/// row by row over the uploaded image, values in [0, 1].</summary>
public sealed record HeatmapAnswer(string Model, IReadOnlyList<ClassScore> Classes, string Finding, int Width, int Height, float[] Heat);

/// <summary>A detected object; the corners are fractions of the uploaded image's width and height (0..1).</summary>
public sealed record DetectedBox(string Label, double Score, double Left, double Top, double Right, double Bottom);

/// <summary><see cref="ResultKind.Boxes"/>: the detections, most confident first.</summary>
public sealed record BoxesAnswer(string Model, IReadOnlyList<DetectedBox> Boxes);

/// <summary>The bytes of a stored image and their media type (<c>image/jpeg</c>, ...).</summary>
public sealed record StoredImage(byte[] Content, string ContentType);

/// <summary>A stored image close to the query; <paramref name="ImageUrl"/> is a URL the page can show, or null.</summary>
public sealed record Neighbour(string Id, double Similarity, string? Label, string? ImageUrl);

/// <summary><see cref="ResultKind.Neighbours"/>: the nearest stored images, most similar first.</summary>
public sealed record NeighboursAnswer(string Model, IReadOnlyList<Neighbour> Neighbours);

/// <summary>An item recommended to a user, with the model's score.</summary>
public sealed record Recommendation(long Item, string? Title, double Score);

/// <summary><see cref="ResultKind.Recommendations"/>: the top items for <paramref name="User"/>, best first.</summary>
public sealed record RecommendationsAnswer(string Model, long User, IReadOnlyList<Recommendation> Items);
