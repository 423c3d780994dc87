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
    readonly List<(Thread Thread, TcpClient Client)> connections = [];
    readonly Thread acceptLoop;
    int requestCount;

    public LocalFileServer(byte[] content)
    {
        this.content = content;
        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        FileUrl = new Uri($"http://127.0.0.1:{port}{FilePath}");
        MissingUrl = new Uri($"http://127.0.0.1:{port}/missing.bin");
        acceptLoop = new Thread(AcceptLoop) { IsBackground = true, Name = "LocalFileServer accept" };
        acceptLoop.Start();
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

    // The server runs on threads of its own with blocking I/O, not on the thread pool: the unit tests share the pool
    // with trainings and other servers, and a starved pool once held a trickling answer back for seconds, so the
    // client's stall timeout saw a silence that the server had not meant. The pauses here are the server's only.
    void AcceptLoop()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = listener.AcceptTcpClient(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { return; }
            var connection = new Thread(() => Serve(client)) { IsBackground = true, Name = "LocalFileServer connection" };
            lock (connections) connections.Add((connection, client));
            connection.Start();
        }
    }

    void Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                (string path, string? range) = ReadRequest(stream);
                int number = Interlocked.Increment(ref requestCount);
                rangeHeaders.Enqueue(range);
                Answer(stream, number, path, range);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The client hung up or the server is stopping: nothing to answer.
            }
        }
    }

    static (string Path, string? Range) ReadRequest(NetworkStream stream)
    {
        var header = new StringBuilder();
        // Requests from HttpClient are a few hundred bytes; the cap bounds a broken one.
        while (header.Length < 16 * 1024 && !header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            int one = stream.ReadByte();
            if (one < 0) throw new IOException("client closed before sending a request");
            header.Append((char)one);
        }
        string[] lines = header.ToString().Split("\r\n");
        string path = lines[0].Split(' ')[1];
        string? range = lines.FirstOrDefault(line => line.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))?["Range:".Length..].Trim();
        return (path, range);
    }

    void Answer(NetworkStream stream, int number, string path, string? range)
    {
        if (path != FilePath)
        {
            WriteHead(stream, "404 Not Found", 0, null);
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
                WriteHead(stream, "416 Range Not Satisfiable", 0, $"bytes */{content.Length}");
                return;
            }
            start = requested;
            status = "206 Partial Content";
            contentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }

        WriteHead(stream, status, content.Length - start, contentRange);
        if (StallAfterHeaders)
        {
            stopping.Token.WaitHandle.WaitOne();
            return;
        }
        int end = number == 1 && CutFirstResponseAfter is { } cut ? Math.Min(content.Length, start + cut) : content.Length;
        if (Trickle is (int pieces, TimeSpan pause))
        {
            int pieceLength = (end - start + pieces - 1) / pieces;
            for (int at = start; at < end; at += pieceLength)
            {
                stream.Write(content, at, Math.Min(pieceLength, end - at));
                stream.Flush();
                if (stopping.Token.WaitHandle.WaitOne(pause)) return;
            }
            return;
        }
        stream.Write(content, start, end - start);
        stream.Flush();
    }

    static void WriteHead(NetworkStream stream, string status, long contentLength, string? contentRange)
    {
        var head = new StringBuilder()
            .Append($"HTTP/1.1 {status}\r\n")
            .Append("Content-Type: application/octet-stream\r\n")
            .Append("Accept-Ranges: bytes\r\n")
            .Append($"Content-Length: {contentLength}\r\n");
        if (contentRange is not null) head.Append($"Content-Range: {contentRange}\r\n");
        head.Append("Connection: close\r\n\r\n");
        stream.Write(Encoding.ASCII.GetBytes(head.ToString()));
        stream.Flush();
    }

    public ValueTask DisposeAsync()
    {
        stopping.Cancel();
        listener.Stop();
        acceptLoop.Join();
        (Thread Thread, TcpClient Client)[] open;
        lock (connections) open = [.. connections];
        // Closing a connection's socket ends a blocking read or write in its thread; a stalled or pausing one wakes on
        // the stop signal.
        foreach (var (_, client) in open) client.Close();
        foreach (var (thread, _) in open) thread.Join();
        stopping.Dispose();
        return ValueTask.CompletedTask;
    }
}
