using System.IO.Compression;
using Recipes.Mnist;
using Recipes.Runtime.Data;

namespace Recipes.Tests.Mnist;

public sealed class IdxReaderTests : IDisposable
{
    readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>Three 2x4 images with distinct pixels and labels 0, 9, 4.</summary>
    static LabeledImages SmallDataset()
    {
        byte[] pixels = Enumerable.Range(0, 3 * 2 * 4).Select(i => (byte)(i * 10 + 1)).ToArray();
        return new LabeledImages(pixels, [0, 9, 4], height: 2, width: 4, classCount: 10);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Written_files_read_back_identically(bool gzip)
    {
        var dataset = SmallDataset();
        string images = folder.File("images"), labels = folder.File("labels");
        IdxWriter.WriteDataset(dataset, images, labels, gzip);

        var read = IdxReader.ReadDataset(images, labels);

        Assert.Equal(dataset.Pixels, read.Pixels);
        Assert.Equal(dataset.Labels, read.Labels);
        Assert.Equal((2, 4, 10), (read.Height, read.Width, read.ClassCount));
        // Written gzipped means the gzip signature is really there.
        Assert.Equal(gzip, File.ReadAllBytes(images).AsSpan(0, 2).SequenceEqual(new byte[] { 0x1f, 0x8b }));
    }

    [Fact]
    public void Reads_a_file_written_by_hand_in_the_published_big_endian_layout()
    {
        byte[] images =
        [
            0x00, 0x00, 0x08, 0x03, // magic 2051
            0x00, 0x00, 0x00, 0x02, // 2 images
            0x00, 0x00, 0x00, 0x03, // 3 rows
            0x00, 0x00, 0x00, 0x02, // 2 columns
            1, 2, 3, 4, 5, 6,
            7, 8, 9, 10, 11, 255,
        ];
        byte[] labels = [0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02, 7, 3];
        File.WriteAllBytes(folder.File("images"), images);
        File.WriteAllBytes(folder.File("labels"), labels);

        var (pixels, count, rows, cols) = IdxReader.ReadImages(folder.File("images"));

        Assert.Equal((2, 3, 2), (count, rows, cols));
        Assert.Equal(images[16..], pixels);
        Assert.Equal(new byte[] { 7, 3 }, IdxReader.ReadLabels(folder.File("labels")));
        var dataset = IdxReader.ReadDataset(folder.File("images"), folder.File("labels"));
        Assert.Equal(new byte[] { 7, 8, 9, 10, 11, 255 }, dataset.Image(1).ToArray());
    }

    [Fact]
    public void Compression_is_recognised_by_content_not_by_file_name()
    {
        var dataset = SmallDataset();
        // A gzipped file without ".gz", and an unpacked one that kept its ".gz" name (as browsers leave them).
        string gzippedImages = folder.File("images.idx"), rawImages = folder.File("images.gz");
        IdxWriter.WriteImages(gzippedImages, dataset.Pixels, dataset.Count, dataset.Height, dataset.Width, gzip: true);
        IdxWriter.WriteImages(rawImages, dataset.Pixels, dataset.Count, dataset.Height, dataset.Width, gzip: false);

        Assert.Equal(dataset.Pixels, IdxReader.ReadImages(gzippedImages).pixels);
        Assert.Equal(dataset.Pixels, IdxReader.ReadImages(rawImages).pixels);
    }

    [Fact]
    public void An_empty_data_set_round_trips()
    {
        IdxWriter.WriteImages(folder.File("images"), [], 0, 28, 28, gzip: true);
        IdxWriter.WriteLabels(folder.File("labels"), [], gzip: false);

        var read = IdxReader.ReadDataset(folder.File("images"), folder.File("labels"));

        Assert.Equal(0, read.Count);
        Assert.Equal((28, 28), (read.Height, read.Width));
    }

    [Fact]
    public void Writing_leaves_no_temporary_files_behind()
    {
        var dataset = SmallDataset();
        IdxWriter.WriteDataset(dataset, folder.File("images.gz"), folder.File("labels.gz"), gzip: true);

        Assert.Equal(new[] { "images.gz", "labels.gz" }, Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order());
    }

    // ---- bad input: every case is a DataFileException naming the file and the problem ----

    static DataFileException AssertFails(string path, Action read, params string[] messageParts)
    {
        var error = Assert.Throws<DataFileException>(read);
        Assert.Equal(path, error.FilePath);
        Assert.StartsWith(path + ": ", error.Message);
        foreach (string part in messageParts) Assert.Contains(part, error.Message);
        return error;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_labels_file_read_as_images_names_both_magic_numbers(bool gzip)
    {
        string labels = folder.File("labels");
        IdxWriter.WriteLabels(labels, [1, 2, 3], gzip);

        AssertFails(labels, () => IdxReader.ReadImages(labels), "wrong magic number", "found 2049", "labels file", "expected 2051");
    }

    [Fact]
    public void An_images_file_read_as_labels_names_both_magic_numbers()
    {
        var dataset = SmallDataset();
        string images = folder.File("images");
        IdxWriter.WriteImages(images, dataset.Pixels, dataset.Count, dataset.Height, dataset.Width, gzip: false);

        AssertFails(images, () => IdxReader.ReadLabels(images), "wrong magic number", "found 2051", "images file", "expected 2049");
    }

    [Fact]
    public void A_file_that_is_not_IDX_at_all_is_called_so()
    {
        string page = folder.File("train-images-idx3-ubyte");
        File.WriteAllText(page, "<html><body>Rate limit exceeded</body></html>");

        AssertFails(page, () => IdxReader.ReadImages(page), "wrong magic number", "not an IDX file");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(10)]
    public void A_truncated_images_header_says_how_much_is_missing(int length)
    {
        string images = folder.File("images");
        byte[] header = [0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02];
        File.WriteAllBytes(images, header[..length]);

        AssertFails(images, () => IdxReader.ReadImages(images), "truncated header", "expected 16 bytes", $"got {length}");
    }

    [Fact]
    public void A_truncated_labels_header_says_how_much_is_missing()
    {
        string labels = folder.File("labels");
        File.WriteAllBytes(labels, [0x00, 0x00, 0x08, 0x01, 0x00, 0x00]);

        AssertFails(labels, () => IdxReader.ReadLabels(labels), "truncated header", "expected 8 bytes", "got 6");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncated_image_data_says_expected_and_received_byte_counts(bool gzip)
    {
        var dataset = SmallDataset();
        string images = folder.File("images");
        // A well-formed (and for gzip, complete) file whose data ends 5 bytes early.
        byte[] whole = Header(0x0803, 3, 2, 4).Concat(dataset.Pixels[..^5]).ToArray();
        WriteMaybeGzipped(images, whole, gzip);

        AssertFails(images, () => IdxReader.ReadImages(images), "truncated data", "expected 24 bytes", "got 19");
    }

    [Fact]
    public void Truncated_label_data_says_expected_and_received_byte_counts()
    {
        string labels = folder.File("labels");
        File.WriteAllBytes(labels, Header(0x0801, 100).Concat(new byte[40]).ToArray());

        AssertFails(labels, () => IdxReader.ReadLabels(labels), "truncated data", "expected 100 bytes", "got 40");
    }

    [Fact]
    public void A_gzip_stream_cut_short_is_a_data_file_error()
    {
        var dataset = SmallDataset();
        string whole = folder.File("whole.gz"), cut = folder.File("cut.gz");
        IdxWriter.WriteImages(whole, dataset.Pixels, dataset.Count, dataset.Height, dataset.Width, gzip: true);
        byte[] compressed = File.ReadAllBytes(whole);
        File.WriteAllBytes(cut, compressed[..(compressed.Length / 2)]);

        // Depending on where the cut falls the decoder reports corruption or the data simply ends early.
        var error = AssertFails(cut, () => IdxReader.ReadImages(cut));
        Assert.True(error.Problem.Contains("not a valid gzip file") || error.Problem.Contains("truncated"), error.Message);
    }

    [Fact]
    public void Corrupt_gzip_data_is_reported_as_such()
    {
        string images = folder.File("images.gz");
        // The gzip signature followed by a header with an unknown compression method.
        File.WriteAllBytes(images, [0x1f, 0x8b, 0x63, 0x00, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6, 7, 8]);

        AssertFails(images, () => IdxReader.ReadImages(images), "not a valid gzip file", "corrupt", "delete it and download it again");
    }

    [Fact]
    public void Flipped_bytes_inside_gzip_data_are_reported_as_corrupt()
    {
        string labels = folder.File("labels.gz");
        // Varied labels so the deflate stream has real content to damage.
        byte[] values = Enumerable.Range(0, 5000).Select(i => (byte)(i * 7919 % 10)).ToArray();
        IdxWriter.WriteLabels(labels, values, gzip: true);
        byte[] compressed = File.ReadAllBytes(labels);
        for (int i = 20; i < compressed.Length - 20; i += 7) compressed[i] ^= 0x5a;
        File.WriteAllBytes(labels, compressed);

        AssertFails(labels, () => IdxReader.ReadLabels(labels), "not a valid gzip file");
    }

    [Fact]
    public void Absurd_dimensions_are_refused_before_anything_is_allocated()
    {
        string images = folder.File("images");
        // 2^30 images of 28x28 would be 842 GB; the file holds only its header.
        File.WriteAllBytes(images, Header(0x0803, 1 << 30, 28, 28));

        AssertFails(images, () => IdxReader.ReadImages(images), "1073741824 images of 28x28", "more than the limit");
    }

    [Fact]
    public void A_header_that_claims_much_more_than_the_file_holds_fails_as_truncated_without_huge_allocation()
    {
        string images = folder.File("images.gz");
        // Within the limit (about 1.9 GB) but the file is tiny: the reader must fail on the missing data.
        WriteMaybeGzipped(images, Header(0x0803, 2_400_000, 28, 28).Concat(new byte[1000]).ToArray(), gzip: true);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        AssertFails(images, () => IdxReader.ReadImages(images), "truncated data", "expected 1881600000 bytes", "got 1000");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore < 100_000_000, "the reader allocated for the declared size instead of the data that arrived");
    }

    [Theory]
    [InlineData(-1, 28, 28, "negative image count")]
    [InlineData(10, 0, 28, "image size of 0x28")]
    [InlineData(10, 28, -5, "image size of 28x-5")]
    public void Impossible_dimensions_are_refused(int count, int rows, int cols, string problem)
    {
        string images = folder.File("images");
        File.WriteAllBytes(images, Header(0x0803, count, rows, cols));

        AssertFails(images, () => IdxReader.ReadImages(images), problem);
    }

    [Fact]
    public void A_negative_label_count_is_refused()
    {
        string labels = folder.File("labels");
        File.WriteAllBytes(labels, Header(0x0801, -3));

        AssertFails(labels, () => IdxReader.ReadLabels(labels), "negative label count");
    }

    [Fact]
    public void Bytes_after_the_declared_data_mean_the_header_is_wrong()
    {
        string labels = folder.File("labels");
        File.WriteAllBytes(labels, Header(0x0801, 3).Concat(new byte[] { 1, 2, 3, 4 }).ToArray());

        AssertFails(labels, () => IdxReader.ReadLabels(labels), "unexpected bytes after the 3 data bytes");
    }

    [Fact]
    public void Label_and_image_counts_must_agree()
    {
        var dataset = SmallDataset();
        string images = folder.File("images"), labels = folder.File("labels");
        IdxWriter.WriteImages(images, dataset.Pixels, dataset.Count, dataset.Height, dataset.Width, gzip: false);
        IdxWriter.WriteLabels(labels, [1, 2], gzip: false);

        AssertFails(labels, () => IdxReader.ReadDataset(images, labels), "has 2 labels", $"images file {images} has 3 images");
    }

    [Fact]
    public void A_label_outside_the_classes_is_refused_with_its_index()
    {
        var dataset = SmallDataset();
        string images = folder.File("images"), labels = folder.File("labels");
        IdxWriter.WriteImages(images, dataset.Pixels, dataset.Count, dataset.Height, dataset.Width, gzip: false);
        IdxWriter.WriteLabels(labels, [1, 2, 10], gzip: true);

        AssertFails(labels, () => IdxReader.ReadDataset(images, labels), "label 10 at index 2", "class count 10");
        // The same labels are fine for a data set with more classes.
        Assert.Equal(11, IdxReader.ReadDataset(images, labels, classCount: 11).ClassCount);
    }

    [Fact]
    public void A_missing_file_is_a_data_file_error()
    {
        string missing = folder.File("nothing-here");

        AssertFails(missing, () => IdxReader.ReadImages(missing), "file not found");
    }

    static byte[] Header(int magic, params int[] sizes)
    {
        byte[] header = new byte[4 + 4 * sizes.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < sizes.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), sizes[i]);
        return header;
    }

    static void WriteMaybeGzipped(string path, byte[] content, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(path, content);
            return;
        }
        using var file = File.Create(path);
        using var compressed = new GZipStream(file, CompressionLevel.Fastest);
        compressed.Write(content);
    }
}
