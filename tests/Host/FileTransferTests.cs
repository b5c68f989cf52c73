using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text.Json;
using Host;
using Xunit.Abstractions;

namespace Engine.Tests.HostApp;

/// <summary>request-file: a large file streams with flat memory; everything leading out of the files directory is refused.</summary>
[Collection(HostAppCollection.Name)]
public sealed class FileTransferTests : IDisposable
{
    private const int MiB = 1024 * 1024;
    private readonly string _root;
    private readonly string _files;
    private readonly string _outside;

    private readonly ITestOutputHelper _output;

    public FileTransferTests(ITestOutputHelper output)
    {
        _output = output;
        _root = Directory.CreateTempSubdirectory("host-files-").FullName;
        _files = Directory.CreateDirectory(Path.Combine(_root, "files")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_root, "outside")).FullName;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_256_MiB_file_streams_in_chunks_with_flat_server_memory()
    {
        const long Size = 256L * MiB;
        string path = Path.Combine(_files, "big.bin");
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            file.SetLength(Size); // sparse: zeros, with a marker at the start of every MiB to check content and order
            var marker = new byte[8];
            for (long mib = 0; mib < Size / MiB; mib++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(marker, Marker(mib));
                file.Position = mib * MiB;
                file.Write(marker);
            }
        }
        await using var server = await AppServer.StartAsync(new AppOptions { FilesDirectory = _files });
        using AppClient client = await server.ConnectAsync();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long workingSetBefore = Environment.WorkingSet;
        long heapPeak = 0, workingSetPeak = 0, buffersPeak = 0;
        using var sampling = new CancellationTokenSource();
        Task sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                heapPeak = Math.Max(heapPeak, GC.GetTotalMemory(false));
                workingSetPeak = Math.Max(workingSetPeak, Environment.WorkingSet);
                buffersPeak = Math.Max(buffersPeak, server.Server.OutstandingBuffers);
                await Task.Delay(5); // the sampling period; a loaded box samples less often, the peaks are the transfer's
            }
        });

        await client.SendTextAsync("""{"type":"request-file","name":"big.bin"}""");
        JsonElement meta = await client.ExpectAsync("file-meta");
        Assert.Equal("big.bin", meta.GetProperty("name").GetString());
        Assert.Equal(Size, meta.GetProperty("size").GetInt64());

        // Receive into one reused buffer (the client must not be what grows memory).
        var buffer = new byte[256 * 1024];
        long received = 0;
        int frames = 0;
        bool atMessageStart = true;
        using var deadline = new CancellationTokenSource(TestTimeouts.Hang);
        while (received < Size)
        {
            ValueWebSocketReceiveResult result = await client.Socket.ReceiveAsync(buffer.AsMemory(), deadline.Token);
            Assert.Equal(WebSocketMessageType.Binary, result.MessageType);
            ReadOnlySpan<byte> data = buffer.AsSpan(0, result.Count);
            if (atMessageStart)
            {
                Assert.Equal(0x03, data[0]); // file chunk envelope
                data = data[1..];
                frames++;
            }
            Check(data, received);
            received += data.Length;
            atMessageStart = result.EndOfMessage;
        }
        await sampling.CancelAsync();
        await sampler;

        _output.WriteLine($"{Size / MiB} MiB in {frames} frames; peaks: pooled blocks {buffersPeak}, managed heap +{(heapPeak - heapBefore) / MiB} MiB, working set +{(workingSetPeak - workingSetBefore) / MiB} MiB");
        Assert.Equal(Size, received);
        Assert.Equal(Size / (64 * 1024), frames);
        await client.ExpectNothingPendingAsync();
        Assert.True(buffersPeak * server.Server.Options.BlockSize < 4 * MiB, $"pooled send blocks peaked at {buffersPeak}");
        Assert.True(heapPeak - heapBefore < 64 * MiB, $"managed heap grew by {(heapPeak - heapBefore) / MiB} MiB");
        Assert.True(workingSetPeak - workingSetBefore < 96 * MiB, $"working set grew by {(workingSetPeak - workingSetBefore) / MiB} MiB");
    }

    [Fact]
    public async Task Files_inside_are_served_and_everything_leading_out_is_refused()
    {
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), "secret");
        File.WriteAllText(Path.Combine(_files, "hello.txt"), "hello world");
        Directory.CreateDirectory(Path.Combine(_files, "sub"));
        File.WriteAllText(Path.Combine(_files, "sub", "inner.txt"), "inner");
        File.CreateSymbolicLink(Path.Combine(_files, "link-out"), Path.Combine(_outside, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(_files, "link-relative-out"), "../outside/secret.txt");
        Directory.CreateSymbolicLink(Path.Combine(_files, "dir-out"), _outside);
        File.CreateSymbolicLink(Path.Combine(_files, "link-in"), "sub/inner.txt");
        File.CreateSymbolicLink(Path.Combine(_files, "loop"), Path.Combine(_files, "loop"));

        await using var server = await AppServer.StartAsync(new AppOptions { FilesDirectory = _files });
        using AppClient client = await server.ConnectAsync();
        (string Name, string Error)[] refused =
        [
            ("../outside/secret.txt", "invalid file name"),
            ("sub/../../outside/secret.txt", "invalid file name"),
            (Path.Combine(_outside, "secret.txt"), "invalid file name"),
            ("/etc/passwd", "invalid file name"),
            ("sub\\..\\..\\x", "invalid file name"),
            ("./hello.txt", "invalid file name"),
            ("", "invalid file name"),
            ("link-out", "outside the files directory"),
            ("link-relative-out", "outside the files directory"),
            ("dir-out/secret.txt", "outside the files directory"),
            ("loop", "outside the files directory"),
            ("sub", "not a file"),
            ("missing.txt", "file not found"),
            ("sub/missing.txt", "file not found"),
        ];
        foreach ((string name, string error) in refused)
        {
            await client.SendTextAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["type"] = "request-file", ["name"] = name }));
            await client.ExpectErrorAsync(error);
        }
        await client.ExpectNothingPendingAsync();

        foreach ((string name, string content) in new[] { ("hello.txt", "hello world"), ("sub/inner.txt", "inner"), ("link-in", "inner") })
        {
            await client.SendTextAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["type"] = "request-file", ["name"] = name }));
            JsonElement meta = await client.ExpectAsync("file-meta");
            Assert.Equal(content.Length, meta.GetProperty("size").GetInt64());
            (WebSocketMessageType type, byte[] chunk) = await client.ReceiveAsync();
            Assert.Equal(WebSocketMessageType.Binary, type);
            Assert.Equal([0x03, .. System.Text.Encoding.UTF8.GetBytes(content)], chunk);
        }
        await client.ExpectNothingPendingAsync();

        // Pipelined requests are served one after the other, in order, without interleaving.
        await client.SendTextAsync("""{"type":"request-file","name":"hello.txt"}""");
        await client.SendTextAsync("""{"type":"request-file","name":"missing"}""");
        await client.SendTextAsync("""{"type":"request-file","name":"../x"}""");
        await client.SendTextAsync("""{"type":"request-file","name":"sub/inner.txt"}""");
        Assert.Equal("hello.txt", (await client.ExpectAsync("file-meta")).GetProperty("name").GetString());
        Assert.Equal([0x03, .. "hello world"u8.ToArray()], (await client.ReceiveAsync()).Payload);
        await client.ExpectErrorAsync("file not found");
        await client.ExpectErrorAsync("invalid file name");
        Assert.Equal("sub/inner.txt", (await client.ExpectAsync("file-meta")).GetProperty("name").GetString());
        Assert.Equal([0x03, .. "inner"u8.ToArray()], (await client.ReceiveAsync()).Payload);
        await client.ExpectNothingPendingAsync();
    }

    private static long Marker(long mib) => (mib + 1) * 0x0101_0101_0101L;

    private static void Check(ReadOnlySpan<byte> data, long position)
    {
        Span<byte> marker = stackalloc byte[8];
        int i = 0;
        while (i < data.Length)
        {
            long at = position + i;
            int inMiB = (int)(at % MiB);
            if (inMiB < 8)
            {
                BinaryPrimitives.WriteInt64LittleEndian(marker, Marker(at / MiB));
                Assert.True(data[i] == marker[inMiB], $"byte {at} is {data[i]}, expected {marker[inMiB]}");
                i++;
                continue;
            }
            int run = Math.Min(data.Length - i, MiB - inMiB);
            int bad = data.Slice(i, run).IndexOfAnyExcept((byte)0);
            Assert.True(bad < 0, $"byte {at + bad} is not zero");
            i += run;
        }
    }
}
