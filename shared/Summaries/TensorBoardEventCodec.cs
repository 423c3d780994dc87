namespace Recipes.Runtime.Summaries;

/// <summary>
/// Encodes and decodes the subset of TensorBoard's <c>Event</c> message we use:
/// <c>Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }</c>,
/// <c>Summary { repeated Value value = 1; }</c>, <c>Value { string tag = 1; float simple_value = 2; }</c>.
/// </summary>
internal static class TensorBoardEventCodec
{
    const int EventWallTime = 1;
    const int EventStep = 2;
    const int EventFileVersion = 3;
    const int EventSummary = 5;
    const int SummaryValue = 1;
    const int ValueTag = 1;
    const int ValueSimpleValue = 2;

    public static byte[] EncodeFileVersion(double wallTime, string fileVersion)
    {
        var message = new ProtobufWireWriter();
        message.WriteDouble(EventWallTime, wallTime);
        message.WriteInt64(EventStep, 0);
        message.WriteString(EventFileVersion, fileVersion);
        return message.ToArray();
    }

    public static byte[] EncodeScalars(double wallTime, long step, IReadOnlyList<KeyValuePair<string, float>> scalars)
    {
        var summary = new ProtobufWireWriter();
        foreach (var (tag, value) in scalars)
        {
            var summaryValue = new ProtobufWireWriter();
            summaryValue.WriteString(ValueTag, tag);
            summaryValue.WriteFloat(ValueSimpleValue, value);
            summary.WriteMessage(SummaryValue, summaryValue);
        }
        var message = new ProtobufWireWriter();
        message.WriteDouble(EventWallTime, wallTime);
        message.WriteInt64(EventStep, step);
        message.WriteMessage(EventSummary, summary);
        return message.ToArray();
    }

    /// <summary>Decodes one event; summary values without a simple_value (images, histograms, tensors) are skipped.</summary>
    public static DecodedEvent Decode(ReadOnlySpan<byte> data)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        var scalars = new List<KeyValuePair<string, float>>();
        var reader = new ProtobufWireReader(data);
        while (!reader.AtEnd)
        {
            var (field, wireType) = reader.ReadTag();
            switch (field)
            {
                case EventWallTime:
                    reader.Expect(field, wireType, ProtobufWireWriter.WireFixed64);
                    wallTime = reader.ReadDouble();
                    break;
                case EventStep:
                    reader.Expect(field, wireType, ProtobufWireWriter.WireVarint);
                    step = unchecked((long)reader.ReadVarint());
                    break;
                case EventFileVersion:
                    reader.Expect(field, wireType, ProtobufWireWriter.WireLengthDelimited);
                    fileVersion = reader.ReadString();
                    break;
                case EventSummary:
                    reader.Expect(field, wireType, ProtobufWireWriter.WireLengthDelimited);
                    DecodeSummary(reader.ReadLengthDelimited(), scalars);
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }
        return new DecodedEvent(wallTime, step, fileVersion, scalars);
    }

    static void DecodeSummary(ReadOnlySpan<byte> data, List<KeyValuePair<string, float>> scalars)
    {
        var reader = new ProtobufWireReader(data);
        while (!reader.AtEnd)
        {
            var (field, wireType) = reader.ReadTag();
            if (field != SummaryValue)
            {
                reader.Skip(wireType);
                continue;
            }
            reader.Expect(field, wireType, ProtobufWireWriter.WireLengthDelimited);
            var (tag, simpleValue) = DecodeValue(reader.ReadLengthDelimited());
            if (simpleValue is float value) scalars.Add(new(tag, value));
        }
    }

    static (string Tag, float? SimpleValue) DecodeValue(ReadOnlySpan<byte> data)
    {
        string tag = "";
        float? simpleValue = null;
        var reader = new ProtobufWireReader(data);
        while (!reader.AtEnd)
        {
            var (field, wireType) = reader.ReadTag();
            if (field == ValueTag)
            {
                reader.Expect(field, wireType, ProtobufWireWriter.WireLengthDelimited);
                tag = reader.ReadString();
            }
            else if (field == ValueSimpleValue)
            {
                reader.Expect(field, wireType, ProtobufWireWriter.WireFixed32);
                simpleValue = reader.ReadFloat();
            }
            else
            {
                reader.Skip(wireType);
            }
        }
        return (tag, simpleValue);
    }
}

internal sealed record DecodedEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<KeyValuePair<string, float>> Scalars);
