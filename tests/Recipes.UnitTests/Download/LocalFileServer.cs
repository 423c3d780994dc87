using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Recipes.Tests.Download;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (ephemeral port) serving one byte array at <see cref="FileUrl"/>.
/// It honours <c>Range: bytes=N-</c> and can be told to misbehave the ways real servers do: cut the first
/// transfer off, ignore ranges, refuse them with 416, or stall after the headers. One request per
/// connection ("Connection: close") keeps it simple.
/// </summary>
sealed class LocalFileServer : IAsyncDisposable
{
    const string FilePath = "/data.bin";

    readonly byte[] content;
    readonly TcpListener listener;
    readonly CancellationTokenSource stopping = new();
    readonly ConcurrentQueue<string?> rangeHeaders = new();
    readonly ConcurrentBag<Task> connections = new();
    readonly Task acceptLoop;
    int requestCount;

    public LocalFileServer(byte[] content)
    {
        this.content = content;
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        FileUrl = new Uri($"http://127.0.0.1:{port}{FilePath}");
        MissingUrl = new Uri($"http://127.0.0.1:{port}/missing.bin");
        acceptLoop = AcceptLoopAsync();
    }

    public Uri FileUrl { get; }
    public Uri MissingUrl { get; }
    public int RequestCount => Volatile.Read(ref requestCount);
    /// <summary>The Range header of each request in arrival order (null where there was none).</summary>
    public IReadOnlyList<string?> RangeHeaders => rangeHeaders.ToArray();

    /// <summary>Send only this many body bytes in answer to the first request, then close the connection.</summary>
    public int? CutFirstResponseAfter { get; set; }
    public bool IgnoreRanges { get; set; }
    public bool RefuseRangesWith416 { get; set; }
    public bool StallAfterHeaders { get; set; }
    /// <summary>Send the body in this many pieces with a pause between them (a slow but live server).</summary>
    public (int Pieces, TimeSpan Pause)? Trickle { get; set; }

    async Task AcceptLoopAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stopping.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { return; }
            connections.Add(ServeAsync(client));
        }
    }

    async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                (string path, string? range) = await ReadRequestAsync(stream);
                int number = Interlocked.Increment(ref requestCount);
                rangeHeaders.Enqueue(range);
                await AnswerAsync(stream, number, path, range);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // The client hung up or the server is stopping: nothing to answer.
            }
        }
    }

    async Task<(string Path, string? Range)> ReadRequestAsync(NetworkStream stream)
    {
        var header = new StringBuilder();
        byte[] one = new byte[1];
        // Requests from HttpClient are a few hundred bytes; the cap bounds a broken one.
        while (header.Length < 16 * 1024 && !header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, stopping.Token) == 0) throw new IOException("client closed before sending a request");
            header.Append((char)one[0]);
        }
        string[] lines = header.ToString().Split("\r\n");
        string path = lines[0].Split(' ')[1];
        string? range = lines.FirstOrDefault(line => line.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))?["Range:".Length..].Trim();
        return (path, range);
    }

    async Task AnswerAsync(NetworkStream stream, int number, string path, string? range)
    {
        if (path != FilePath)
        {
            await WriteHeadAsync(stream, "404 Not Found", 0, null);
            return;
        }
        int start = 0;
        string status = "200 OK";
        string? contentRange = null;
        if (range is not null && !IgnoreRanges)
        {
            int requested = int.Parse(range["bytes=".Length..].TrimEnd('-'));
            if (RefuseRangesWith416 || requested >= content.Length)
            {
                await WriteHeadAsync(stream, "416 Range Not Satisfiable", 0, $"bytes */{content.Length}");
                return;
            }
            start = requested;
            status = "206 Partial Content";
            contentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }

        await WriteHeadAsync(stream, status, content.Length - start, contentRange);
        if (StallAfterHeaders)
        {
            await Task.Delay(Timeout.Infinite, stopping.Token);
            return;
        }
        int end = number == 1 && CutFirstResponseAfter is { } cut ? Math.Min(content.Length, start + cut) : content.Length;
        if (Trickle is (int pieces, TimeSpan pause))
        {
            int pieceLength = (end - start + pieces - 1) / pieces;
            for (int at = start; at < end; at += pieceLength)
            {
                await stream.WriteAsync(content.AsMemory(at, Math.Min(pieceLength, end - at)), stopping.Token);
                await stream.FlushAsync(stopping.Token);
                await Task.Delay(pause, stopping.Token);
            }
            return;
        }
        await stream.WriteAsync(content.AsMemory(start, end - start), stopping.Token);
        await stream.FlushAsync(stopping.Token);
    }

    async Task WriteHeadAsync(NetworkStream stream, string status, long contentLength, string? contentRange)
    {
        var head = new StringBuilder()
            .Append($"HTTP/1.1 {status}\r\n")
            .Append("Content-Type: application/octet-stream\r\n")
            .Append("Accept-Ranges: bytes\r\n")
            .Append($"Content-Length: {contentLength}\r\n");
        if (contentRange is not null) head.Append($"Content-Range: {contentRange}\r\n");
        head.Append("Connection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), stopping.Token);
        await stream.FlushAsync(stopping.Token);
    }

    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        listener.Stop();
        await acceptLoop;
        await Task.WhenAll(connections);
        stopping.Dispose();
    }
}
