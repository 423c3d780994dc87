using Google.Protobuf;
using Recipes.Runtime.Summaries.TensorBoardProtos;

namespace Recipes.Runtime.Summaries;

/// <summary>
/// Writes scalars to a TensorBoard event file (<c>events.out.tfevents.&lt;unix-seconds&gt;.&lt;hostname&gt;</c>)
/// that <c>tensorboard --logdir &lt;folder&gt;</c> reads. We write the file ourselves because TorchSharp's
/// SummaryWriter can be neither flushed nor disposed. Every call hands its event to the operating system before
/// returning, so a crashed run loses nothing it logged; <see cref="Flush"/> additionally forces it to disk.
/// Events are TensorFlow's <c>Event</c> protobuf messages (compiled from TensorBoardProtos/event.proto), each in a
/// TFRecord frame. All members are thread-safe.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    public const string FileVersion = "brain.Event:2";
    public const string FileNamePrefix = "events.out.tfevents.";

    readonly object _gate = new();
    readonly FileStream _stream;
    bool _disposed;

    public TensorBoardWriter(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        (_stream, FilePath) = CreateEventFile(Path.GetFullPath(folder));
        try
        {
            WriteEvent(new Event { WallTime = CurrentWallTime(), FileVersion = FileVersion }.ToByteArray());
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    public string FilePath { get; }

    public void AddScalar(string tag, float value, long step) =>
        AddScalars(step, [new KeyValuePair<string, float>(tag, value)]);

    /// <summary>Writes several scalars of one step as a single event, flushed once.</summary>
    public void AddScalars(long step, IEnumerable<KeyValuePair<string, float>> scalars)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        var batch = scalars.ToList();
        foreach (var (tag, _) in batch)
            if (string.IsNullOrWhiteSpace(tag)) throw new ArgumentException("A TensorBoard scalar needs a non-empty tag.", nameof(scalars));
        if (batch.Count == 0) return;
        var summary = new Summary();
        foreach (var (tag, value) in batch) summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = value });
        byte[] encoded = new Event { WallTime = CurrentWallTime(), Step = step, Summary = summary }.ToByteArray();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            WriteEvent(encoded);
        }
    }

    /// <summary>Forces everything written so far to disk (each add already reaches the operating system).</summary>
    public void Flush()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Flush(flushToDisk: true);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            try { _stream.Flush(flushToDisk: true); }
            finally { _stream.Dispose(); }
        }
    }

    void WriteEvent(byte[] encodedEvent)
    {
        TfRecordFraming.WriteRecord(_stream, encodedEvent);
        _stream.Flush();
    }

    static double CurrentWallTime() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

    // Two writers started within the same second in one folder (several workers, or tests) must not collide;
    // TensorBoard reads every file whose name contains "tfevents", so a numeric suffix is fine.
    static (FileStream Stream, string Path) CreateEventFile(string folder)
    {
        string baseName = $"{FileNamePrefix}{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{SafeHostName()}";
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            string path = Path.Combine(folder, attempt == 0 ? baseName : $"{baseName}.{attempt}");
            if (File.Exists(path)) continue;
            try
            {
                return (new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16), path);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another writer took this name between the check and the create: try the next suffix.
            }
        }
        throw new IOException($"{Path.Combine(folder, baseName)}: could not create a new TensorBoard event file (1000 names already taken)");
    }

    static string SafeHostName()
    {
        string host = Environment.MachineName;
        var invalid = Path.GetInvalidFileNameChars();
        var safe = host.Select(character => invalid.Contains(character) ? '_' : character).ToArray();
        return safe.Length == 0 ? "localhost" : new string(safe);
    }
}
