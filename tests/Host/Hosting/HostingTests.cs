using System.Diagnostics.Metrics;
using System.Net;
using System.Net.WebSockets;
using Engine;
using Engine.Hosting;
using Host;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace Engine.Tests.Hosting;

/// <summary>The engine inside a real Generic Host: started and stopped by the host, options validated at start.</summary>
public sealed class HostingTests
{
    [Fact]
    public async Task The_host_runs_the_engine_with_the_handler_logger_and_meter_from_the_container()
    {
        using var logs = new FakeLoggerProvider();
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Services.AddWebSocketEngine<EchoHandler>(o => o.Server = o.Server with
        {
            Address = IPAddress.Loopback,
            Port = 0,
            Transport = TestServer.Transport,
        });
        using IHost host = builder.Build();
        await host.StartAsync();

        WebSocketServer server = host.Services.GetRequiredService<WebSocketServer>();
        Assert.Same(server, host.Services.GetServices<IHostedService>().OfType<WebSocketEngineService>().Single().Server);
        IMeterFactory meters = host.Services.GetRequiredService<IMeterFactory>();
        Assert.Same(meters, server.Options.MeterFactory);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{server.LocalEndPoint.Port}/"), CancellationToken.None);
        await client.SendAsync("hello host"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        (_, byte[] echoed) = await WebSocketMessages.ReceiveAsync(client);
        Assert.Equal("hello host"u8.ToArray(), echoed);

        using (var received = new MetricCollector<long>(meters, WebSocketTelemetry.MeterName, "websocket.server.messages.received"))
        {
            received.RecordObservableInstruments();
            Assert.Equal(1, received.LastMeasurement?.Value);
        }

        // Stopping the host closes the connection with 1001 Going Away.
        Task stopping = host.StopAsync();
        var buffer = new byte[64];
        WebSocketReceiveResult result = await client.ReceiveAsync(buffer, CancellationToken.None);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        await stopping;
        Assert.Equal(0, server.ConnectionCount);
        Assert.Equal(0, server.OutstandingBuffers);

        IReadOnlyList<FakeLogRecord> records = logs.Collector.GetSnapshot();
        Assert.Contains(records, r => r.Category == WebSocketTelemetry.LoggerCategory && r.Id.Id == 1);
        Assert.Contains(records, r => r.Category == WebSocketTelemetry.LoggerCategory && r.Id.Id == 3);
    }

    [Fact]
    public async Task Invalid_options_fail_the_host_at_start_with_the_engine_message()
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddWebSocketEngine<SilentHandler>(o => o.Server = o.Server with { Port = 70_000 });
        using IHost host = builder.Build();

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Port must be 0-65535", error.Message);
    }

    [Fact]
    public async Task Settings_bind_from_configuration_and_are_validated_too()
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["WebSocket:Server:Port"] = "0",
            ["WebSocket:Server:MaxConnections"] = "7",
            ["WebSocket:Server:HeartbeatInterval"] = "00:00:05",
            ["WebSocket:Server:SlowConsumerPolicy"] = "CloseTryAgainLater",
        });
        builder.Services.AddWebSocketEngine<SilentHandler>(o => o.Server = o.Server with { Address = IPAddress.Loopback })
            .BindConfiguration("WebSocket");
        using (IHost host = builder.Build())
        {
            await host.StartAsync();
            WebSocketServerOptions options = host.Services.GetRequiredService<WebSocketServer>().Options;
            Assert.Equal(7, options.MaxConnections);
            Assert.Equal(TimeSpan.FromSeconds(5), options.HeartbeatInterval);
            Assert.Equal(SlowConsumerPolicy.CloseTryAgainLater, options.SlowConsumerPolicy);
            Assert.Equal(IPAddress.Loopback, options.Address);
            Assert.NotEqual(0, host.Services.GetRequiredService<WebSocketServer>().LocalEndPoint.Port);
            await host.StopAsync();
        }

        builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["WebSocket:Server:MaxConnections"] = "-1" });
        builder.Services.AddWebSocketEngine<SilentHandler>().BindConfiguration("WebSocket");
        using IHost bad = builder.Build();
        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => bad.StartAsync());
        Assert.Contains("MaxConnections", error.Message);
    }

    private sealed class SilentHandler : IWebSocketHandler
    {
        public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
        {
        }
    }
}
