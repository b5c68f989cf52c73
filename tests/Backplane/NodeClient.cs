using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Engine.Tests.Support;

namespace Engine.Tests.Backplane;

/// <summary>A plain ClientWebSocket speaking the Host's app protocol; every message received is queued for the test.</summary>
public sealed class NodeClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly Channel<(WebSocketMessageType Type, byte[] Data)> _received = Channel.CreateUnbounded<(WebSocketMessageType, byte[])>();
    private Task? _reader;

    public static async Task<NodeClient> ConnectAsync(Uri uri)
    {
        var client = new NodeClient();
        await client._socket.ConnectAsync(uri, CancellationToken.None);
        client._reader = client.ReadAsync();
        using JsonDocument connected = await client.ReceiveJsonAsync();
        Assert.Equal("connected", connected.RootElement.GetProperty("type").GetString());
        return client;
    }

    public Task SendJsonAsync(string json) => _socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBinaryAsync(byte[] data) => _socket.SendAsync(data, WebSocketMessageType.Binary, true, CancellationToken.None);

    public async Task SubscribeAsync(string channel, long? offset = null)
    {
        await SendJsonAsync(offset is null
            ? $$"""{"type":"subscribe","channel":"{{channel}}"}"""
            : $$"""{"type":"subscribe","channel":"{{channel}}","offset":{{offset}}}""");
        using JsonDocument reply = await ReceiveJsonAsync();
        Assert.Equal("subscribed", reply.RootElement.GetProperty("type").GetString());
    }

    public async Task UnsubscribeAsync(string channel)
    {
        await SendJsonAsync($$"""{"type":"unsubscribe","channel":"{{channel}}"}""");
        using JsonDocument reply = await ReceiveJsonAsync();
        Assert.Equal("unsubscribed", reply.RootElement.GetProperty("type").GetString());
    }

    public Task PublishAsync(string channel, string contentJson) =>
        SendJsonAsync($$"""{"type":"message","channel":"{{channel}}","content":{{contentJson}}}""");

    public async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TestTimeouts.Hang);
        try
        {
            return await _received.Reader.ReadAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no message within the timeout");
        }
    }

    public async Task<JsonDocument> ReceiveJsonAsync(TimeSpan? timeout = null)
    {
        var (type, data) = await ReceiveAsync(timeout);
        Assert.Equal(WebSocketMessageType.Text, type);
        return JsonDocument.Parse(data);
    }

    /// <summary>
    /// Asserts that nothing arrives for <paramref name="quiet"/>: a window for something that must not happen, so load
    /// can only make a wrong message arrive after the window (a miss), never fail a correct run. Where a caller then
    /// expects a message that must arrive next, a late stray one is caught there, in order.
    /// </summary>
    public async Task ExpectNothingAsync(TimeSpan quiet)
    {
        await Task.Delay(quiet);
        if (_received.Reader.TryRead(out var unexpected))
        {
            Assert.Fail($"unexpected message: {Encoding.UTF8.GetString(unexpected.Data)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2)); // clean-up only: a slow close is dropped
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", cancel.Token);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException)
        {
        }
        _socket.Dispose();
        if (_reader is not null)
        {
            await _reader;
        }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var message = new MemoryStream();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                _received.Writer.TryWrite((result.MessageType, message.ToArray()));
            }
        }
        catch (Exception exception) when (exception is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        _received.Writer.TryComplete();
    }
}
