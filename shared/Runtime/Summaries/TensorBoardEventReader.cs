using System.Buffers.Binary;
using Google.Protobuf;
using Recipes.Runtime.Data;
using Recipes.Runtime.Summaries.TensorBoardProtos;

namespace Recipes.Runtime.Summaries;

/// <summary>One scalar as TensorBoard stores it.</summary>
public readonly record struct TensorBoardScalar(string Tag, long Step, float Value, double WallTime);

/// <summary>What an event file holds: its version header, how many events it has, and their scalars in file order.</summary>
public sealed record TensorBoardEventFile(string FilePath, string? FileVersion, int EventCount, IReadOnlyList<TensorBoardScalar> Scalars);

/// <summary>
/// Reads TensorBoard event files back, verifying both CRCs of every record. A bad checksum, a cut-off
/// record or an unparsable event raises <see cref="DataFileException"/> naming the file and the record.
/// A file cut exactly between two records cannot be told apart from a shorter file, as in TFRecord itself.
/// Events written by TensorFlow or PyTorch carry more kinds of values than scalars (images, histograms, tensors):
/// those are skipped.
/// </summary>
public static class TensorBoardEventReader
{
    public static IReadOnlyList<TensorBoardScalar> ReadScalars(string path) => Read(path).Scalars;

    public static TensorBoardEventFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        // A running writer keeps the file open for writing; reading alongside it is normal use.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        string? fileVersion = null;
        var scalars = new List<TensorBoardScalar>();
        int eventCount = 0;
        var header = new byte[TfRecordFraming.HeaderSize];
        var footer = new byte[TfRecordFraming.FooterSize];
        while (true)
        {
            long recordStart = stream.Position;
            int headerRead = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (headerRead == 0) break;
            string where = $"record {eventCount} at byte {recordStart}";
            if (headerRead < header.Length)
                throw new DataFileException(path, $"truncated: {where} has only {headerRead} of its {header.Length} header bytes");

            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (Crc32C.ComputeMasked(header.AsSpan(0, 8)) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8)))
                throw new DataFileException(path, $"{where}: length checksum mismatch (corrupt file)");
            long remaining = stream.Length - stream.Position;
            if (length > (ulong)Math.Max(0, remaining - TfRecordFraming.FooterSize))
                throw new DataFileException(path, $"truncated: {where} declares {length} data bytes but only {remaining} bytes follow");

            if (length > int.MaxValue)
                throw new DataFileException(path, $"{where} declares {length} data bytes, more than one record can hold");
            var data = new byte[(int)length];
            stream.ReadExactly(data);
            stream.ReadExactly(footer);
            if (Crc32C.ComputeMasked(data) != BinaryPrimitives.ReadUInt32LittleEndian(footer))
                throw new DataFileException(path, $"{where}: data checksum mismatch (corrupt file)");

            Event decoded;
            try { decoded = Event.Parser.ParseFrom(data); }
            catch (InvalidProtocolBufferException problem)
            {
                throw new DataFileException(path, $"{where}: not a valid TensorBoard event: {problem.Message}", problem);
            }
            if (decoded.WhatCase == Event.WhatOneofCase.FileVersion) fileVersion ??= decoded.FileVersion;
            if (decoded.WhatCase == Event.WhatOneofCase.Summary)
                foreach (var value in decoded.Summary.Value)
                    if (value.ValueCase == Summary.Types.Value.ValueOneofCase.SimpleValue)
                        scalars.Add(new TensorBoardScalar(value.Tag, decoded.Step, value.SimpleValue, decoded.WallTime));
            eventCount++;
        }
        return new TensorBoardEventFile(path, fileVersion, eventCount, scalars);
    }
}
