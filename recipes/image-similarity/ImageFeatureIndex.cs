using System.Text;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;

namespace Recipes.ImageSimilarity;

/// <summary>An indexed image: where it came from and its class (<see cref="Unlabelled"/> when it has none).</summary>
public sealed record IndexedImage(string Path, int Label = IndexedImage.Unlabelled)
{
    public const int Unlabelled = -1;
}

/// <summary>A search result: the indexed image, its cosine similarity to the query, and the ranking score.</summary>
public sealed record SimilarImage(int Index, IndexedImage Image, double Cosine, double Score);

/// <summary>
/// A nearest-neighbour index of images by their feature vectors (ImageNet features, for instance), kept
/// L2-normalised so the dot product is the cosine similarity. Exact search (a matrix-vector product) is
/// what a few hundred thousand 512-d vectors need. Saved as one binary file (see <see cref="Save"/>) that
/// <see cref="Load"/> reads back exactly.
/// <para>Ranking follows the seed's image-similarity notebook: score = cosine, plus 1 when a classifier
/// puts the query and the candidate in the same class (when classes are given).</para>
/// </summary>
public sealed class ImageFeatureIndex
{
    const string Magic = "RIMGIDX1";
    readonly float[] _features;
    readonly IndexedImage[] _images;

    /// <param name="features">one row of <paramref name="dimension"/> values per image; normalised here</param>
    public ImageFeatureIndex(IReadOnlyList<IndexedImage> images, ReadOnlySpan<float> features, int dimension,
        IReadOnlyList<string>? classNames = null, string featureDescription = "")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (features.Length != images.Count * dimension)
            throw new ArgumentException($"{features.Length} feature values for {images.Count} images of {dimension}");
        _images = images.ToArray();
        _features = features.ToArray();
        Dimension = dimension;
        ClassNames = classNames?.ToArray() ?? [];
        FeatureDescription = featureDescription;
        for (int i = 0; i < _images.Length; i++) NormaliseInPlace(_features.AsSpan(i * dimension, dimension));
    }

    public int Count => _images.Length;
    public int Dimension { get; }
    public IReadOnlyList<IndexedImage> Images => _images;
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>What computed the features (model and backend), so a query uses the same.</summary>
    public string FeatureDescription { get; }

    /// <summary>Image <paramref name="index"/>'s unit-length feature vector.</summary>
    public ReadOnlySpan<float> Features(int index) => _features.AsSpan(index * Dimension, Dimension);

    /// <summary>
    /// The <paramref name="k"/> best matches for <paramref name="query"/> (any length-<see cref="Dimension"/>
    /// vector; normalised here), best first, ties broken by index.
    /// </summary>
    /// <param name="exclude">an index to leave out (the query itself, for leave-one-out evaluation)</param>
    /// <param name="queryClass">the query's predicted class; with <paramref name="candidateClasses"/>, a match adds 1</param>
    /// <param name="candidateClasses">each indexed image's predicted class</param>
    public IReadOnlyList<SimilarImage> Query(ReadOnlySpan<float> query, int k, int? exclude = null,
        int? queryClass = null, IReadOnlyList<int>? candidateClasses = null)
    {
        if (query.Length != Dimension) throw new ArgumentException($"query has {query.Length} values, the index {Dimension}");
        if (candidateClasses is not null && candidateClasses.Count != Count)
            throw new ArgumentException($"{candidateClasses.Count} candidate classes for {Count} images");
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var unit = query.ToArray();
        NormaliseInPlace(unit);
        var scored = new List<SimilarImage>(Count);
        for (int i = 0; i < Count; i++)
        {
            if (i == exclude) continue;
            double cosine = Dot(unit, Features(i));
            double bonus = queryClass is { } q && candidateClasses is not null && candidateClasses[i] == q ? 1 : 0;
            scored.Add(new SimilarImage(i, _images[i], cosine, cosine + bonus));
        }
        return scored.OrderByDescending(s => s.Score).ThenBy(s => s.Index).Take(k).ToList();
    }

    /// <summary>
    /// Precision@K with leave-one-out queries: every labelled image queries the rest; the share of its top
    /// K that have its label, averaged over queries.
    /// </summary>
    public double LeaveOneOutPrecision(int k, IReadOnlyList<int>? predictedClasses = null)
    {
        double sum = 0;
        int queries = 0;
        for (int i = 0; i < Count; i++)
        {
            if (_images[i].Label == IndexedImage.Unlabelled) continue;
            var top = Query(Features(i), k, exclude: i, predictedClasses?[i], predictedClasses);
            sum += top.Count(result => result.Image.Label == _images[i].Label) / (double)k;
            queries++;
        }
        return queries == 0 ? double.NaN : sum / queries;
    }

    /// <summary>
    /// Writes the index atomically. Layout (little-endian): "RIMGIDX1", int32 count, int32 dimension,
    /// string feature description, int32 class count and class names, then per image: string path, int32
    /// label, dimension float32 values. A string is an int32 byte length and UTF-8 bytes.
    /// </summary>
    public void Save(string path) => AtomicFile.Write(path, stream =>
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Encoding.ASCII.GetBytes(Magic));
        writer.Write(Count);
        writer.Write(Dimension);
        WriteString(writer, FeatureDescription);
        writer.Write(ClassNames.Count);
        foreach (string name in ClassNames) WriteString(writer, name);
        for (int i = 0; i < Count; i++)
        {
            WriteString(writer, _images[i].Path);
            writer.Write(_images[i].Label);
            foreach (float value in Features(i)) writer.Write(value);
        }
    });

    public static ImageFeatureIndex Load(string path)
    {
        if (!File.Exists(path)) throw new DataFileException(path, "index file not found");
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic)
                throw new DataFileException(path, $"not an image index (it does not start with {Magic})");
            int count = reader.ReadInt32(), dimension = reader.ReadInt32();
            if (count < 0 || dimension < 1 || (long)count * dimension * sizeof(float) > stream.Length)
                throw new DataFileException(path, $"header declares {count} images of {dimension} values, more than the file holds");
            string description = ReadString(reader, path);
            int classCount = reader.ReadInt32();
            if (classCount < 0 || classCount > 1_000_000) throw new DataFileException(path, $"header declares {classCount} classes");
            var classNames = Enumerable.Range(0, classCount).Select(_ => ReadString(reader, path)).ToList();
            var images = new IndexedImage[count];
            var features = new float[count * dimension];
            for (int i = 0; i < count; i++)
            {
                images[i] = new IndexedImage(ReadString(reader, path), reader.ReadInt32());
                for (int j = 0; j < dimension; j++) features[i * dimension + j] = reader.ReadSingle();
            }
            if (stream.Position != stream.Length)
                throw new DataFileException(path, $"{stream.Length - stream.Position} unexpected bytes after the last image");
            return new ImageFeatureIndex(images, features, dimension, classNames, description);
        }
        catch (EndOfStreamException error)
        {
            throw new DataFileException(path, "truncated: the file ends inside an entry", error);
        }
    }

    static void WriteString(BinaryWriter writer, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    static string ReadString(BinaryReader reader, string path)
    {
        int length = reader.ReadInt32();
        if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position)
            throw new DataFileException(path, $"a string of {length} bytes does not fit in the file");
        return Encoding.UTF8.GetString(reader.ReadBytes(length));
    }

    static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }

    static void NormaliseInPlace(Span<float> vector)
    {
        double norm = Math.Sqrt(Dot(vector, vector));
        if (norm == 0) return;
        for (int i = 0; i < vector.Length; i++) vector[i] = (float)(vector[i] / norm);
    }
}
