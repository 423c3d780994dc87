using Recipes.Runtime.IO;

namespace Recipes.Tests.IO;

/// <summary>Files written whole or not at all, with and without waiting for the disk.</summary>
public sealed class AtomicFileTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("atomic-file-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_written_file_replaces_the_old_one_and_leaves_no_temporary_file(bool waitForDisk)
    {
        string path = Path.Combine(_folder, "scene.xml");
        File.WriteAllText(path, "old");
        Action<Stream> content = stream => stream.Write("new content"u8);
        if (waitForDisk) AtomicFile.Write(path, content); else AtomicFile.WriteByRename(path, content);
        Assert.Equal("new content", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_write_that_fails_half_way_keeps_the_old_file_and_leaves_no_temporary_file(bool waitForDisk)
    {
        string path = Path.Combine(_folder, "scene.jpg");
        File.WriteAllText(path, "old");
        Action<Stream> failing = stream =>
        {
            stream.Write("half a pic"u8);
            throw new IOException("disk full");
        };
        Assert.Throws<IOException>(() => { if (waitForDisk) AtomicFile.Write(path, failing); else AtomicFile.WriteByRename(path, failing); });
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }
}
