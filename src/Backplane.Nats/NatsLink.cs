using NATS.Client.Core;

namespace Engine.Backplane;

/// <summary>
/// The connection both NATS backplanes share: made in the background, and again with exponential backoff after a
/// failure (the NATS client's own reconnect, which re-sends the subscriptions it has).
/// </summary>
internal sealed class NatsLink : IAsyncDisposable
{
    /// <param name="options">Where to connect.</param>
    /// <param name="nodeId">Names the connection (in the server's connz).</param>
    /// <param name="opened">Called whenever the connection (re)opens.</param>
    public NatsLink(NatsBackplaneOptions options, Guid nodeId, Action opened)
    {
        // Echo off: NATS never sends a node its own publishes (delivered locally already, or, with history, handed
        // back by JetStream rather than by our own publish).
        Connection = new NatsConnection(NatsConnectionOptions.Create(options, nodeId, echo: false));
        Connection.ConnectionOpened += (_, _) =>
        {
            opened();
            return ValueTask.CompletedTask;
        };
    }

    public NatsConnection Connection { get; }

    public bool IsConnected => Connection.ConnectionState == NatsConnectionState.Open;

    /// <summary>Connects; RetryOnInitialConnect: a broker that is down at start-up is retried with the reconnect backoff.</summary>
    public ValueTask ConnectAsync() => Connection.ConnectAsync();

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
