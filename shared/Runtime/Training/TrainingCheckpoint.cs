using System.Text;
using System.Text.Json;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Training.Optimization;

namespace Recipes.Runtime.Training;

/// <summary>Where training stood when a checkpoint was written, and what must match to resume from it.</summary>
public sealed record CheckpointPosition
{
    public required int Epoch { get; init; }
    /// <summary>Next batch of <see cref="Epoch"/> to run (0 at an epoch boundary).</summary>
    public required int NextBatch { get; init; }
    public required long Iteration { get; init; }
    public required int Seed { get; init; }
    public required int GlobalBatchSize { get; init; }
    public required int SampleCount { get; init; }
    /// <summary>Running sums of the epoch in progress, so its reported loss is the same after a resume.</summary>
    public double EpochLossSum { get; init; }
    public long EpochSamples { get; init; }
    public Dictionary<string, double> ScheduleState { get; init; } = new();
    /// <summary>What the run trained on; null in checkpoints written before it was recorded.</summary>
    public DataFingerprint? Data { get; init; }
    public List<EpochReport> CompletedEpochs { get; init; } = new();
}

/// <summary>
/// One file holding everything needed to continue training exactly: position, schedule state, model
/// weights and optimizer state (momentum, Adam moments and step counts). Written atomically, so a crash
/// while saving leaves the previous checkpoint intact.
/// </summary>
public static class TrainingCheckpoint
{
    public const string FileName = "latest.ckpt";
    static readonly byte[] Magic = "RCKPT001"u8.ToArray();

    // Validation scores may be NaN (an AUC undefined for a class with one outcome only in the set).
    static readonly JsonSerializerOptions PositionJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void Save(string path, CheckpointPosition position, nn.Module model, optim.Optimizer optimizer) =>
        AtomicFile.WriteAllBytes(path, ToBytes(position, model, optimizer));

    /// <summary>The checkpoint's content in memory, e.g. to hand the training state to a worker that joins a job.</summary>
    public static byte[] ToBytes(CheckpointPosition position, nn.Module model, optim.Optimizer optimizer)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(position, PositionJson);
            writer.Write(json.Length);
            writer.Write(json);
            WriteSection(writer, sectionWriter => model.save(sectionWriter));
            WriteSection(writer, sectionWriter => OptimizerCheckpoint.Save(optimizer, sectionWriter.BaseStream));
        }
        return buffer.ToArray();
    }

    public static CheckpointPosition Load(string path, nn.Module model, optim.Optimizer optimizer)
    {
        if (!File.Exists(path)) throw new DataFileException(path, "no checkpoint to resume from (train once without --resume first)");
        using var file = File.OpenRead(path);
        return Load(file, path, model, optimizer);
    }

    /// <summary>Loads checkpoint content from <paramref name="stream"/>; <paramref name="path"/> names its origin in errors.</summary>
    public static CheckpointPosition Load(Stream stream, string path, nn.Module model, optim.Optimizer optimizer)
    {
        try
        {
            using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new DataFileException(path, "not a training checkpoint (wrong magic bytes)");
            int jsonLength = reader.ReadInt32();
            if (jsonLength <= 0 || jsonLength > 64 << 20) throw new DataFileException(path, "corrupt checkpoint header");
            var position = JsonSerializer.Deserialize<CheckpointPosition>(reader.ReadBytes(jsonLength), PositionJson)
                           ?? throw new DataFileException(path, "empty checkpoint header");
            ReadSection(reader, path, sectionReader => model.load(sectionReader));
            ReadSection(reader, path, sectionReader => OptimizerCheckpoint.Load(optimizer, sectionReader.BaseStream, path));
            return position;
        }
        catch (EndOfStreamException error)
        {
            throw new DataFileException(path, "checkpoint is truncated", error);
        }
        catch (JsonException error)
        {
            throw new DataFileException(path, $"corrupt checkpoint header ({error.Message})", error);
        }
    }

    static void WriteSection(BinaryWriter writer, Action<BinaryWriter> writeSection)
    {
        using var section = new MemoryStream();
        using (var sectionWriter = new BinaryWriter(section, Encoding.UTF8, leaveOpen: true)) writeSection(sectionWriter);
        writer.Write(section.Length);
        writer.Write(section.GetBuffer(), 0, (int)section.Length);
    }

    static void ReadSection(BinaryReader reader, string path, Action<BinaryReader> readSection)
    {
        long length = reader.ReadInt64();
        if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position)
            throw new DataFileException(path, "checkpoint is truncated");
        byte[] bytes = reader.ReadBytes((int)length);
        using var sectionReader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        readSection(sectionReader);
    }
}
