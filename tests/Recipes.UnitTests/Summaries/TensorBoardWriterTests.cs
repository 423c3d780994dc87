using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using Recipes.Runtime.Data;
using Recipes.Runtime.Summaries;

namespace Recipes.Tests.Summaries;

public class TensorBoardWriterTests
{
    [Fact]
    public void Scalars_written_are_read_back_exactly_in_order()
    {
        using var folder = new TemporaryFolder();
        var written = new (string Tag, float Value, long Step)[]
        {
            ("train/loss", 2.302585f, 0), ("train/loss", 0.5f, 1), ("val/accuracy", 0.9871f, 1),
            ("température ✓", -1.25e-7f, 1L << 40), ("negative step", float.MaxValue, -3), ("diverged", float.NaN, 7),
        };
        double before = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
        string path;
        using (var writer = new TensorBoardWriter(folder.Path))
        {
            path = writer.FilePath;
            foreach (var (tag, value, step) in written) writer.AddScalar(tag, value, step);
        }
        double after = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

        var file = TensorBoardEventReader.Read(path);
        Assert.Equal("brain.Event:2", file.FileVersion);
        Assert.Equal(1 + written.Length, file.EventCount);
        Assert.Equal(written.Length, file.Scalars.Count);
        for (int index = 0; index < written.Length; index++)
        {
            Assert.Equal(written[index].Tag, file.Scalars[index].Tag);
            Assert.Equal(written[index].Step, file.Scalars[index].Step);
            Assert.Equal(BitConverter.SingleToInt32Bits(written[index].Value), BitConverter.SingleToInt32Bits(file.Scalars[index].Value));
            Assert.InRange(file.Scalars[index].WallTime, before - 1, after + 1);
        }
    }

    [Fact]
    public void File_is_named_the_way_TensorBoard_looks_for_it()
    {
        using var folder = new TemporaryFolder();
        using var writer = new TensorBoardWriter(folder.Path);
        Assert.Equal(folder.Path, Path.GetDirectoryName(writer.FilePath));
        Assert.Matches(new Regex(@"^events\.out\.tfevents\.\d{10}\..+$"), Path.GetFileName(writer.FilePath));
    }

    [Fact]
    public void Two_writers_in_one_folder_get_separate_files()
    {
        using var folder = new TemporaryFolder();
        using var first = new TensorBoardWriter(folder.Path);
        using var second = new TensorBoardWriter(folder.Path);
        Assert.NotEqual(first.FilePath, second.FilePath);
        first.AddScalar("a", 1, 1);
        second.AddScalar("b", 2, 1);
        Assert.Equal("a", Assert.Single(TensorBoardEventReader.ReadScalars(first.FilePath)).Tag);
        Assert.Equal("b", Assert.Single(TensorBoardEventReader.ReadScalars(second.FilePath)).Tag);
    }

    [Fact]
    public void A_batch_of_scalars_is_one_event_of_one_step()
    {
        using var folder = new TemporaryFolder();
        using var writer = new TensorBoardWriter(folder.Path);
        writer.AddScalars(12, [new("loss", 0.25f), new("accuracy", 0.75f), new("learning_rate", 0.01f)]);

        var file = TensorBoardEventReader.Read(writer.FilePath);
        Assert.Equal(2, file.EventCount);
        Assert.Equal(["loss", "accuracy", "learning_rate"], file.Scalars.Select(scalar => scalar.Tag));
        Assert.All(file.Scalars, scalar => Assert.Equal(12, scalar.Step));
    }

    [Fact]
    public void Every_scalar_is_readable_while_the_writer_is_still_open()
    {
        // What a crash would leave behind: nothing added may still sit in a buffer of ours.
        using var folder = new TemporaryFolder();
        using var writer = new TensorBoardWriter(folder.Path);
        for (int step = 0; step < 3; step++)
        {
            writer.AddScalar("loss", step, step);
            Assert.Equal(step + 1, TensorBoardEventReader.ReadScalars(writer.FilePath).Count);
        }
    }

    [Fact]
    public void Concurrent_writers_produce_only_whole_records()
    {
        using var folder = new TemporaryFolder();
        const int threads = 4, perThread = 250;
        string path;
        using (var writer = new TensorBoardWriter(folder.Path))
        {
            path = writer.FilePath;
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
            {
                for (int step = 0; step < perThread; step++) writer.AddScalar($"thread{thread}", step, step);
            });
            writer.Flush();
        }

        var scalars = TensorBoardEventReader.ReadScalars(path);
        Assert.Equal(threads * perThread, scalars.Count);
        for (int thread = 0; thread < threads; thread++)
        {
            var mine = scalars.Where(scalar => scalar.Tag == $"thread{thread}").ToList();
            Assert.Equal(Enumerable.Range(0, perThread).Select(step => (long)step), mine.Select(scalar => scalar.Step));
            Assert.All(mine, scalar => Assert.Equal(scalar.Step, (long)scalar.Value));
        }
    }

    [Fact]
    public void Using_a_disposed_writer_fails_and_disposing_twice_is_harmless()
    {
        using var folder = new TemporaryFolder();
        var writer = new TensorBoardWriter(folder.Path);
        writer.Dispose();
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.AddScalar("loss", 1, 1));
        Assert.Throws<ObjectDisposedException>(writer.Flush);
    }

    [Fact]
    public void An_empty_tag_is_rejected()
    {
        using var folder = new TemporaryFolder();
        using var writer = new TensorBoardWriter(folder.Path);
        Assert.Throws<ArgumentException>(() => writer.AddScalar(" ", 1, 1));
    }

    [Fact]
    public void First_record_has_the_TFRecord_layout_and_protobuf_encoding_byte_for_byte()
    {
        // Decoded here by hand, independently of the reader, against the Event schema.
        using var folder = new TemporaryFolder();
        string path;
        using (var writer = new TensorBoardWriter(folder.Path)) path = writer.FilePath;
        byte[] bytes = File.ReadAllBytes(path);

        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(Crc32C.Mask(Crc32C.Compute(bytes.AsSpan(0, 8))), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal((int)length + 16, bytes.Length);
        var data = bytes.AsSpan(12, (int)length);
        Assert.Equal(Crc32C.Mask(Crc32C.Compute(data)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12 + (int)length)));

        Assert.Equal(0x09, data[0]); // field 1 (wall_time), wire type 1 (fixed64)
        double wallTime = BinaryPrimitives.ReadDoubleLittleEndian(data[1..9]);
        Assert.InRange(wallTime, 1.6e9, 4e9);
        // Field 2 (step) is 0 here, which proto3 leaves out (as TensorFlow's own writer does): field 3 follows.
        Assert.Equal(0x1A, data[9]); // field 3 (file_version), length-delimited
        Assert.Equal(13, data[10]);
        Assert.Equal("brain.Event:2", Encoding.ASCII.GetString(data[11..]));
    }

    [Fact]
    public void Events_of_other_writers_give_their_scalars_and_skip_images_and_unknown_fields()
    {
        // Encoded by hand from the Event and Summary schemas, as TensorFlow or PyTorch would write them: an image
        // value, a scalar with a node_name, and an event-level field (source_metadata) our schema leaves out.
        static byte[] Field(int number, int wireType, params byte[] payload) =>
            [(byte)(number << 3 | wireType), .. wireType == 2 ? new[] { (byte)payload.Length } : [], .. payload];
        byte[] image = Field(1, 2, "picture"u8.ToArray()).Concat(Field(4, 2, Field(4, 2, 0xFF, 0xD8))).ToArray();
        byte[] scalar = Field(1, 2, "loss"u8.ToArray()).Concat(Field(7, 2, (byte)'n')).Concat(Field(2, 5, BitConverter.GetBytes(0.5f))).ToArray();
        byte[] summary = Field(1, 2, image).Concat(Field(1, 2, scalar)).ToArray();
        byte[] foreignEvent = Field(1, 1, BitConverter.GetBytes(1.7e9)).Concat(Field(2, 0, 5)).Concat(Field(5, 2, summary))
            .Concat(Field(10, 2, Field(1, 2, "pytorch"u8.ToArray()))).ToArray();

        using var folder = new TemporaryFolder();
        string path = folder.File("events.out.tfevents.1.other");
        var record = new byte[16 + foreignEvent.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)foreignEvent.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Crc32C.ComputeMasked(record.AsSpan(0, 8)));
        foreignEvent.CopyTo(record, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + foreignEvent.Length), Crc32C.ComputeMasked(foreignEvent));
        File.WriteAllBytes(path, record);

        var file = TensorBoardEventReader.Read(path);
        Assert.Equal(1, file.EventCount);
        Assert.Null(file.FileVersion);
        var only = Assert.Single(file.Scalars);
        Assert.Equal(new TensorBoardScalar("loss", 5, 0.5f, 1.7e9), only);
    }

    [Fact]
    public void A_record_whose_checksums_hold_but_whose_event_is_not_protobuf_is_reported()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("events.out.tfevents.1.garbage");
        byte[] garbage = [0x0A, 0x7F, 0x01]; // field 1 declared 127 bytes long, 1 present
        var record = new byte[16 + garbage.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)garbage.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Crc32C.ComputeMasked(record.AsSpan(0, 8)));
        garbage.CopyTo(record, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + garbage.Length), Crc32C.ComputeMasked(garbage));
        File.WriteAllBytes(path, record);

        var error = Assert.Throws<DataFileException>(() => TensorBoardEventReader.Read(path));
        Assert.Equal(path, error.FilePath);
        Assert.Contains("record 0", error.Problem);
        Assert.Contains("not a valid TensorBoard event", error.Problem);
    }

    [Fact]
    public void A_flipped_byte_anywhere_in_a_record_is_reported_as_corruption()
    {
        using var folder = new TemporaryFolder();
        string path;
        using (var writer = new TensorBoardWriter(folder.Path))
        {
            path = writer.FilePath;
            writer.AddScalar("loss", 0.5f, 1);
            writer.AddScalar("loss", 0.25f, 2);
        }
        byte[] pristine = File.ReadAllBytes(path);
        int firstLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(pristine);
        int second = 16 + firstLength;
        int secondLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(pristine.AsSpan(second));

        var cases = new (int Offset, string Expected)[]
        {
            (second + 1, "length checksum"),                     // inside the length
            (second + 9, "length checksum"),                     // inside the length's CRC
            (second + 12 + secondLength / 2, "data checksum"),   // inside the event
            (second + 12 + secondLength + 2, "data checksum"),   // inside the data's CRC
        };
        foreach (var (offset, expected) in cases)
        {
            byte[] corrupt = (byte[])pristine.Clone();
            corrupt[offset] ^= 0x10;
            File.WriteAllBytes(path, corrupt);
            var error = Assert.Throws<DataFileException>(() => TensorBoardEventReader.Read(path));
            Assert.Equal(path, error.FilePath);
            Assert.Contains(expected, error.Problem);
            Assert.Contains("record 1", error.Problem);
        }
    }

    [Fact]
    public void A_file_cut_inside_a_record_is_reported_as_truncated()
    {
        using var folder = new TemporaryFolder();
        string path;
        using (var writer = new TensorBoardWriter(folder.Path))
        {
            path = writer.FilePath;
            writer.AddScalar("loss", 0.5f, 1);
        }
        byte[] whole = File.ReadAllBytes(path);
        int firstRecord = 16 + (int)BinaryPrimitives.ReadUInt64LittleEndian(whole);

        foreach (int cutAt in new[] { firstRecord + 5, firstRecord + 12, whole.Length - 1 })
        {
            File.WriteAllBytes(path, whole[..cutAt]);
            var error = Assert.Throws<DataFileException>(() => TensorBoardEventReader.Read(path));
            Assert.StartsWith("truncated", error.Problem);
            Assert.Contains(path, error.Message);
        }
    }
}
