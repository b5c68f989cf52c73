using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Engine;
using Host;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Engine.Tests.HostApp;

/// <summary>The Host's app handler on a free loopback port, with a diagnostics endpoint.</summary>
internal sealed class AppServer : IAsyncDisposable
{
    public const string Secret = "a-test-secret-of-at-least-32-bytes!!";

    private AppServer(TestServer server, AppHandler handler, DiagnosticsEndpoints diagnostics)
    {
        Test = server;
        Handler = handler;
        Diagnostics = diagnostics;
    }

    public DiagnosticsEndpoints Diagnostics { get; }

    public TestServer Test { get; }

    public AppHandler Handler { get; }

    public WebSocketServer Server => Test.Server;

    public Uri Uri => Test.Uri;

    public static async Task<AppServer> StartAsync(AppOptions? options = null, Func<WebSocketServerOptions, WebSocketServerOptions>? configure = null,
        HostMetrics? metrics = null, PrometheusExporter? exporter = null)
    {
        var diagnostics = new DiagnosticsEndpoints { Exporter = exporter };
        var handler = new AppHandler(options ?? new AppOptions(), diagnostics, metrics);
        TestServer server = await TestServer.StartAsync(handler, configure);
        diagnostics.Server = server.Server;
        diagnostics.Ready = true;
        return new AppServer(server, handler, diagnostics);
    }

    public static AppOptions WithAuth(AppOptions? options = null) =>
        (options ?? new AppOptions()) with { AuthSecret = Encoding.UTF8.GetBytes(Secret) };

    public static string Token(string? subject = "alice", TimeSpan? expiresIn = null, string secret = Secret, string? audience = null, string? name = null)
    {
        DateTime now = DateTime.UtcNow;
        DateTime expires = now + (expiresIn ?? TimeSpan.FromMinutes(10));
        var claims = new Dictionary<string, object>();
        if (subject is not null)
        {
            claims["sub"] = subject;
        }
        if (name is not null)
        {
            claims["name"] = name;
        }
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = expires.AddHours(-2),
            NotBefore = expires.AddHours(-2),
            Expires = expires,
            Audience = audience,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });
    }

    public async Task<AppClient> ConnectAsync(string query = "", string? origin = null)
    {
        var client = new AppClient();
        if (origin is not null)
        {
            client.Socket.Options.SetRequestHeader("Origin", origin);
        }
        await client.Socket.ConnectAsync(new Uri(Uri, query), CancellationToken.None);
        using JsonDocument connected = await client.ReceiveJsonAsync();
        Assert.Equal("connected", connected.RootElement.GetProperty("type").GetString());
        client.Id = connected.RootElement.GetProperty("id").GetString()!;
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Test.DisposeAsync();
        await Handler.DisposeAsync();
    }
}

/// <summary>A ClientWebSocket speaking the app protocol; every receive has a deadline so a missing message fails the test instead of hanging it.</summary>
internal sealed class AppClient : IDisposable
{
    private byte[] _buffer = new byte[64 * 1024];

    public ClientWebSocket Socket { get; } = new();

    public string Id { get; set; } = "";

    public Task SendTextAsync(string json) => SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text);

    public async Task SendAsync(byte[] payload, WebSocketMessageType type) =>
        await Socket.SendAsync(payload, type, true, CancellationToken.None);

    public async Task<(WebSocketMessageType Type, byte[] Payload)> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TestTimeouts.Hang);
        int length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            ValueWebSocketReceiveResult result = await Socket.ReceiveAsync(_buffer.AsMemory(length), deadline.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (WebSocketMessageType.Close, []);
            }
            length += result.Count;
            if (result.EndOfMessage)
            {
                return (result.MessageType, _buffer.AsSpan(0, length).ToArray());
            }
        }
    }

    public async Task<string> ReceiveTextAsync(TimeSpan? timeout = null)
    {
        (WebSocketMessageType type, byte[] payload) = await ReceiveAsync(timeout);
        Assert.Equal(WebSocketMessageType.Text, type);
        return Encoding.UTF8.GetString(payload);
    }

    public async Task<JsonDocument> ReceiveJsonAsync(TimeSpan? timeout = null) => JsonDocument.Parse(await ReceiveTextAsync(timeout));

    /// <summary>The next message is <c>{"type":<paramref name="type"/>}</c>; returns it.</summary>
    public async Task<JsonElement> ExpectAsync(string type)
    {
        string text = await ReceiveTextAsync();
        using JsonDocument document = JsonDocument.Parse(text);
        Assert.True(document.RootElement.GetProperty("type").GetString() == type, $"expected {type}, got {text}");
        return document.RootElement.Clone();
    }

    /// <summary>The next message is an error containing <paramref name="fragment"/>.</summary>
    public async Task ExpectErrorAsync(string fragment)
    {
        JsonElement error = await ExpectAsync("error");
        string message = error.GetProperty("message").GetString()!;
        Assert.True(message.Contains(fragment, StringComparison.Ordinal), $"expected an error with '{fragment}', got '{message}'");
    }

    /// <summary>Ping, and the very next message is the pong: the connection is open and nothing else was queued for us before it.</summary>
    public async Task ExpectNothingPendingAsync()
    {
        await SendTextAsync("""{"type":"ping"}""");
        await ExpectAsync("pong");
        Assert.Equal(WebSocketState.Open, Socket.State);
    }

    /// <summary>The server closes with <paramref name="code"/>.</summary>
    public async Task ExpectCloseAsync(int code, TimeSpan? timeout = null)
    {
        (WebSocketMessageType type, byte[] payload) = await ReceiveAsync(timeout);
        Assert.True(type == WebSocketMessageType.Close, $"expected close {code}, got {type} {Encoding.UTF8.GetString(payload)}");
        Assert.Equal(code, (int)Socket.CloseStatus!.Value);
        await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
    }

    public void Dispose() => Socket.Dispose();
}
