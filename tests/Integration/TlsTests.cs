using System.Diagnostics;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Text;
using Host;

namespace Engine.Tests.Integration;

/// <summary>wss:// against .NET's ClientWebSocket and SslStream, with a certificate made at test time.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TestCertificate _certificate = TestCertificate.Create();

    public void Dispose() => _certificate.Dispose();

    [Theory]
    [InlineData(WebSocketMessageType.Text, 5)]
    [InlineData(WebSocketMessageType.Binary, 125)]
    [InlineData(WebSocketMessageType.Binary, 70_000)]
    [InlineData(WebSocketMessageType.Text, 1_000_000)]
    public async Task Echoes_text_and_binary_over_wss(WebSocketMessageType type, int length)
    {
        await using var server = await StartAsync();
        using var client = new ClientWebSocket();
        client.Options.RemoteCertificateValidationCallback = _certificate.Validator;
        await client.ConnectAsync(WssUri(server), CancellationToken.None);
        byte[] payload = EchoTests.Payload(length, type == WebSocketMessageType.Text);

        for (int i = 0; i < 3; i++)
        {
            await client.SendAsync(payload, type, true, CancellationToken.None);
            (WebSocketMessageType receivedType, byte[] received) = await EchoTests.ReceiveMessageAsync(client);
            Assert.Equal(type, receivedType);
            Assert.Equal(payload, received);
        }
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task Idle_TLS_connections_hold_no_pooled_buffer()
    {
        await using var server = await StartAsync();
        var clients = new List<ClientWebSocket>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                var client = new ClientWebSocket();
                clients.Add(client);
                client.Options.RemoteCertificateValidationCallback = _certificate.Validator;
                await client.ConnectAsync(WssUri(server), CancellationToken.None);
                await client.SendAsync(EchoTests.Payload(40_000, text: false), WebSocketMessageType.Binary, true, CancellationToken.None);
                Assert.Equal(40_000, (await EchoTests.ReceiveMessageAsync(client)).Payload.Length);
            }

            // Every connection is open and waiting in a zero-byte read through SslStream: no block is rented for any of them.
            DateTime deadline = DateTime.UtcNow + TestTimeouts.Hang;
            while (server.Server.OutstandingBuffers > 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            Assert.Equal(20, server.Server.OpenWebSocketCount);
            Assert.Equal(0, server.Server.OutstandingBuffers);
        }
        finally
        {
            foreach (ClientWebSocket client in clients)
            {
                client.Dispose();
            }
        }
        await server.AssertDrainedAsync();
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Negotiates_the_protocol_the_client_insists_on(SslProtocols protocol)
    {
        await using var server = await StartAsync();

        // SslStream by hand, to read the negotiated protocol, then the upgrade and an echo over it.
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync("127.0.0.1", server.Port);
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = protocol,
                RemoteCertificateValidationCallback = _certificate.Validator,
            });
            Assert.Equal(protocol, ssl.SslProtocol);
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(RawClient.UpgradeRequest()));
            Assert.StartsWith("HTTP/1.1 101", await ReadHeadAsync(ssl));
            using WebSocket raw = WebSocket.CreateFromStream(ssl, new WebSocketCreationOptions { IsServer = false });
            await raw.SendAsync("over raw TLS"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal("over raw TLS", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(raw)).Payload));
            await raw.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, raw.CloseStatus);
        }

        // ClientWebSocket restricted to the same single protocol: it connects only if the server speaks it.
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { EnabledSslProtocols = protocol, RemoteCertificateValidationCallback = _certificate.Validator },
        };
        using var invoker = new HttpMessageInvoker(handler);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(WssUri(server), invoker, CancellationToken.None);
        await client.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("hello", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(client)).Payload));
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task A_client_offering_only_a_protocol_the_server_refuses_fails_alone()
    {
        await using var server = await StartAsync(_certificate.ServerOptions(SslProtocols.Tls13));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", server.Port);
        await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await Assert.ThrowsAnyAsync<Exception>(() => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls12,
            RemoteCertificateValidationCallback = _certificate.Validator,
        }));
        await server.AssertDrainedAsync();

        // The server goes on serving.
        using var client = new ClientWebSocket();
        client.Options.RemoteCertificateValidationCallback = _certificate.Validator;
        await client.ConnectAsync(WssUri(server), CancellationToken.None);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_that_never_finishes_the_TLS_handshake_is_closed_by_the_handshake_timeout(bool partialRecord)
    {
        await using var server = await StartAsync(configure: o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(400) });
        // Started before the connect, so before the server's deadline starts: the timer wheel never fires early, so the
        // lower bound (the timeout was waited for) holds however slow a loaded box's connect and send are; started after
        // them, as it was, a slow send could eat the 100 ms margin. The upper bound (2.6 s past the deadline) says the
        // handshake timeout cut it, not the 5 s default nor a hang; a late tick and FIN take far less on a loaded box.
        var elapsed = Stopwatch.StartNew();
        using RawClient silent = await RawClient.ConnectAsync(server.Port);
        if (partialRecord)
        {
            // The header of a handshake record announcing 512 bytes that never come: the server is inside the TLS handshake.
            await silent.SendAsync([22, 3, 1, 2, 0, 1]);
        }

        Assert.True(await silent.WaitForEndAsync(TestTimeouts.Hang), "the silent client was not closed");
        Assert.InRange(elapsed.ElapsedMilliseconds, 300, 3_000);
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task A_plain_HTTP_client_on_the_TLS_port_gets_a_400_and_a_clean_close()
    {
        await using var server = await StartAsync();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", server.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(RawClient.UpgradeRequest()), SocketFlags.None);

        // Read to the end: a FIN (0), not a reset (which would throw), after the whole answer.
        var response = new MemoryStream();
        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TestTimeouts.Hang);
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            response.Write(buffer, 0, n);
        }
        string text = Encoding.ASCII.GetString(response.ToArray());
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", text);
        Assert.EndsWith("This port speaks TLS: use https or wss.\n", text);
        socket.Shutdown(SocketShutdown.Send);
        await server.AssertDrainedAsync();
    }

    [Fact]
    public async Task Garbage_instead_of_a_ClientHello_is_closed_without_harming_the_server()
    {
        // The timeout cuts any garbage the TLS layer would wait on, and the healthy client below must finish its TLS
        // handshake and upgrade within it too: 3 s (was 1 s), so a cold TLS handshake (first use of the TLS code in this
        // process) on a loaded 2-core box still fits many times over.
        await using var server = await StartAsync(configure: o => o with { HandshakeTimeout = TimeSpan.FromSeconds(3) });
        byte[][] garbage =
        [
            [22, 3, 1, 0, 4, 1, 0, 0, 0], // a handshake record holding an empty ClientHello
            [22, 3, 3, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // an unknown handshake message
            [0, 1, 2, 3], // not TLS at all
        ];
        foreach (byte[] bytes in garbage)
        {
            using RawClient client = await RawClient.ConnectAsync(server.Port);
            await client.SendAsync(bytes);
            Assert.True(await client.WaitForEndAsync(TestTimeouts.Hang), $"not closed after {Convert.ToHexString(bytes)}");
        }
        await server.AssertDrainedAsync();

        using var healthy = new ClientWebSocket();
        healthy.Options.RemoteCertificateValidationCallback = _certificate.Validator;
        await healthy.ConnectAsync(WssUri(server), CancellationToken.None);
        await healthy.SendAsync("still here"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal("still here", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(healthy)).Payload));
        await healthy.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
    }

    [Fact]
    public void The_epoll_transport_refuses_TLS_at_validation()
    {
        var options = new WebSocketServerOptions { Transport = TransportKind.Epoll, Tls = _certificate.ServerOptions() };
        if (Engine.Transports.Linux.Native.IsSupported)
        {
            Assert.Throws<ArgumentException>(options.Validate);
        }
        Assert.Throws<ArgumentException>(new WebSocketServerOptions { Tls = new SslServerAuthenticationOptions() }.Validate);
    }

    [Fact]
    public async Task The_Host_with_WS_TLS_CERT_and_WS_TLS_KEY_serves_wss_and_https()
    {
        string directory = Directory.CreateTempSubdirectory("engine-tls-").FullName;
        try
        {
            (string certificatePath, string keyPath) = _certificate.WritePem(directory);
            using HostProcess host = await HostProcess.StartAsync(["--echo", "--port", "0", "--address", "127.0.0.1"],
                new Dictionary<string, string> { ["WS_TLS_CERT"] = certificatePath, ["WS_TLS_KEY"] = keyPath });
            Assert.Contains("listening on wss://127.0.0.1:", host.Output, StringComparison.Ordinal);
            // TLS runs on the portable transport, so the Host runs its socket completions inline (SocketCompletions).
            Assert.Contains("socket completions: inline", host.Output, StringComparison.Ordinal);
            int port = host.Port;

            using var client = new ClientWebSocket();
            client.Options.RemoteCertificateValidationCallback = _certificate.Validator;
            await client.ConnectAsync(new Uri($"wss://localhost:{port}/"), CancellationToken.None);
            await client.SendAsync("through the Host"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            Assert.Equal("through the Host", Encoding.UTF8.GetString((await EchoTests.ReceiveMessageAsync(client)).Payload));
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);

            using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = _certificate.Validator } });
            using HttpResponseMessage health = await http.GetAsync($"https://localhost:{port}/healthz");
            Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
            Assert.Contains("\"ok\"", await health.Content.ReadAsStringAsync());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Uri WssUri(TestServer server) => new($"wss://localhost:{server.Port}/");

    private Task<TestServer> StartAsync(SslServerAuthenticationOptions? tls = null, Func<WebSocketServerOptions, WebSocketServerOptions>? configure = null) =>
        TestServer.StartAsync(new EchoHandler(), options =>
        {
            // TLS runs on the stream path whatever transport the run selects (the Linux loops are rejected with TLS, Auto
            // picks sockets).
            options = options with
            {
                Tls = tls ?? _certificate.ServerOptions(),
                Transport = options.Transport is TransportKind.Epoll or TransportKind.IoUring ? TransportKind.Auto : options.Transport,
            };
            return configure is null ? options : configure(options);
        });

    private static async Task<string> ReadHeadAsync(Stream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one) == 1)
        {
            head.Append((char)one[0]);
        }
        return head.ToString();
    }
}
