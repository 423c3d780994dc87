using System.Formats.Tar;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Recipes.ObjectDetection;
using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.ObjectDetection;

/// <summary>
/// The PASCAL VOC download tier against miniature VOC2007 tars (trainval and test, laid out as the official ones)
/// served from 127.0.0.1 at the official paths below a base URL.
/// </summary>
public sealed class VocDownloadTests : IDisposable
{
    // Bounded: the downloader's stall timeout is short and xunit stops a test at this.
    const int TestTimeoutMs = 30_000;

    readonly string root = Path.Combine(Path.GetTempPath(), $"recipes-voc-download-tests-{Guid.NewGuid():N}");
    readonly StringWriter log = new();
    // No proxy: the requests must go straight to the local server whatever the environment says.
    readonly HttpClient http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };

    public void Dispose()
    {
        http.Dispose();
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    Downloader NewDownloader() => new(Path.Combine(root, "cache", VocDownloads.CacheSubfolder), http, timeout: TimeSpan.FromSeconds(5));

    static byte[] Jpeg(int width, int height)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(200, 100, 50));
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream);
        return stream.ToArray();
    }

    static string Annotation(string id, string name) =>
        $"<annotation><filename>{id}.jpg</filename><size><width>48</width><height>32</height><depth>3</depth></size>" +
        $"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>3</xmin><ymin>4</ymin><xmax>20</xmax><ymax>30</ymax></bndbox></object></annotation>";

    /// <summary>A tar of VOCdevkit/VOC2007 holding these images, with these ImageSets/Main lists.</summary>
    static byte[] VocTar(string[] ids, params (string Name, string Text)[] lists)
    {
        using var stream = new MemoryStream();
        using (var tar = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            void Add(string path, byte[] content) =>
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "VOCdevkit/VOC2007/" + path) { DataStream = new MemoryStream(content) });
            foreach (string id in ids)
            {
                Add($"Annotations/{id}.xml", Encoding.UTF8.GetBytes(Annotation(id, id == "000002" ? "cat" : "dog")));
                Add($"JPEGImages/{id}.jpg", Jpeg(48, 32));
            }
            foreach (var (name, text) in lists) Add($"ImageSets/Main/{name}", Encoding.UTF8.GetBytes(text));
        }
        return stream.ToArray();
    }

    static Dictionary<string, byte[]> Voc2007Release() => new()
    {
        ["/voc2007/VOCtrainval_06-Nov-2007.tar"] = VocTar(["000001", "000002", "000004", "000005"],
            ("train.txt", "000001\n000002\n"), ("val.txt", "000004\n"), ("trainval.txt", "000001\n000002\n000004\n")),
        ["/voc2007/VOCtest_06-Nov-2007.tar"] = VocTar(["000003"], ("test.txt", "000003\n")),
    };

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Fetch_downloads_both_2007_tars_unpacks_them_into_one_VOC2007_and_reads_it()
    {
        await using var server = new LoopbackFiles(Voc2007Release());
        var downloader = NewDownloader();

        string voc = await Task.Run(() => VocDownloads.Fetch(downloader, "2007", log, server.BaseUrl));

        Assert.Equal(VocDownloads.VocFolder(downloader, "2007"), voc);
        var folder = DetectionFolderReader.Read(voc, skipBad: false, log);
        Assert.Equal(VocAnnotations.VocClassNames, folder.ClassNames);
        Assert.Equal(["000001", "000002", "000003", "000004"], folder.Images.Select(i => i.Id));
        Assert.Equal(7, folder.Images[1].Objects.Single().ClassIndex);   // cat
        var set = DetectionDataSet.FromFolder(folder, DataSourceKind.Download, "voc", seed: 1);
        Assert.Equal(["000003"], set.Test.Select(i => i.Id));
        Assert.Equal(["000004"], set.Validation.Select(i => i.Id));
        // No SHA-256 is published: the first download's is recorded beside each tar.
        foreach (RemoteFile tar in VocDownloads.Archives("2007"))
            Assert.True(File.Exists(downloader.ChecksumRecordPath(tar)), tar.FileName);
        Assert.Equal(2, server.RequestCount);

        // The cache tier finds it without a request; a second fetch makes none either.
        Assert.Equal(voc, VocDownloads.FindCached(NewDownloader(), "2007", log, server.BaseUrl));
        await Task.Run(() => VocDownloads.Fetch(NewDownloader(), "2007", log, server.BaseUrl));
        Assert.Equal(2, server.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Resolve_downloads_when_asked_then_uses_the_cache()
    {
        await using var server = new LoopbackFiles(Voc2007Release());
        var request = new DetectionDataRequest(null, Download: true, "2007", SkipBad: false, GeneratedScenes: 10, Seed: 1, Path.Combine(root, "cache"))
        {
            VocBaseUrl = server.BaseUrl,
        };

        var downloaded = await Task.Run(() => DetectionDataSources.Resolve(request, log));
        var cached = await Task.Run(() => DetectionDataSources.Resolve(request with { Download = false }, log));

        Assert.Equal(DataSourceKind.Download, downloaded.Source);
        Assert.Equal(DataSourceKind.Cache, cached.Source);
        Assert.Equal("PASCAL VOC2007", cached.Name);
        Assert.Equal((2, 1, 1), (cached.Train.Count, cached.Validation.Count, cached.Test.Count));
        Assert.Equal(2, server.RequestCount);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_tar_with_an_entry_climbing_out_of_its_folder_is_refused_and_deleted()
    {
        using var hostile = new MemoryStream();
        using (var tar = new TarWriter(hostile, TarEntryFormat.Pax, leaveOpen: true))
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "VOCdevkit/../../escaped.txt") { DataStream = new MemoryStream([1, 2, 3]) });
        var files = Voc2007Release();
        files["/voc2007/VOCtrainval_06-Nov-2007.tar"] = hostile.ToArray();
        await using var server = new LoopbackFiles(files);
        var downloader = NewDownloader();

        var error = await Assert.ThrowsAsync<DataFileException>(() => Task.Run(() => VocDownloads.Fetch(downloader, "2007", log, server.BaseUrl)));

        Assert.Contains("outside the target folder", error.Problem);
        Assert.False(File.Exists(Path.Combine(root, "cache", "escaped.txt")));
        Assert.False(File.Exists(Path.Combine(root, "escaped.txt")));
        var trainval = VocDownloads.Archives("2007")[0];
        Assert.False(File.Exists(downloader.CachedPath(trainval)));
        Assert.False(File.Exists(downloader.ChecksumRecordPath(trainval)));
    }

    [Fact]
    public void The_official_addresses_are_the_VOC_sites_tars()
    {
        Assert.Equal(["http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtrainval_06-Nov-2007.tar", "http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar"],
            VocDownloads.Archives("2007").Select(f => f.Url.ToString()));
        Assert.Equal("http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar", VocDownloads.Archives("2012").Single().Url.ToString());
        Assert.All(VocDownloads.Archives("2012"), f => Assert.Null(f.Sha256));
        Assert.Throws<ArgumentException>(() => VocDownloads.Archives("2010"));
    }

    /// <summary>
    /// A minimal HTTP/1.1 server on 127.0.0.1 (ephemeral port) serving byte arrays by path, one request per connection.
    /// </summary>
    sealed class LoopbackFiles : IAsyncDisposable
    {
        readonly IReadOnlyDictionary<string, byte[]> files;
        readonly TcpListener listener = new(IPAddress.Loopback, 0);
        readonly CancellationTokenSource stopping = new();
        readonly Task acceptLoop;
        int requestCount;

        public LoopbackFiles(IReadOnlyDictionary<string, byte[]> files)
        {
            this.files = files;
            listener.Start();
            BaseUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
            acceptLoop = AcceptAsync();
        }

        public Uri BaseUrl { get; }
        public int RequestCount => Volatile.Read(ref requestCount);

        async Task AcceptAsync()
        {
            var connections = new List<Task>();
            while (true)
            {
                TcpClient client;
                try { client = await listener.AcceptTcpClientAsync(stopping.Token); }
                catch (Exception e) when (e is OperationCanceledException or SocketException) { break; }
                connections.Add(ServeAsync(client));
            }
            await Task.WhenAll(connections);
        }

        async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var request = new StringBuilder();
                    byte[] one = new byte[1];
                    while (request.Length < 16 * 1024 && !request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
                    {
                        if (await stream.ReadAsync(one, stopping.Token) == 0) return;
                        request.Append((char)one[0]);
                    }
                    Interlocked.Increment(ref requestCount);
                    string path = request.ToString().Split(' ')[1];
                    byte[] body = files.TryGetValue(path, out var content) ? content : [];
                    string status = content is null ? "404 Not Found" : "200 OK";
                    string head = $"HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), stopping.Token);
                    await stream.WriteAsync(body, stopping.Token);
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                {
                    // The client hung up or the server is stopping.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            stopping.Cancel();
            listener.Stop();
            await acceptLoop;
            stopping.Dispose();
        }
    }
}
