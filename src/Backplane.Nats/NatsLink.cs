using System.Collections.Concurrent;
using System.Threading.Channels;
using NATS.Client.Core;

namespace Engine.Backplane;

/// <summary>
/// The connection both NATS backplanes share: connects in the background (and again with exponential backoff after a
/// failure, the NATS client's own reconnect), keeps one listener per channel that has local subscribers (a single
/// reader reconciles interest changes, so a channel's broker subscription follows its local subscriber count however
/// fast it flips), and re-checks every channel when the connection comes back.
/// </summary>
internal sealed class NatsLink : IAsyncDisposable
{
    private readonly Func<string, CancellationToken, Task<IAsyncDisposable>> _listen;
    private readonly Func<NatsConnection, CancellationToken, Task>? _connected;
    private readonly Action? _restored;
    private readonly Channel<string> _interest = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, IAsyncDisposable> _listeners = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private PubSub? _pubSub;
    private Task? _loop;

    /// <param name="options">Where to connect.</param>
    /// <param name="nodeId">Names the connection (in the server's connz).</param>
    /// <param name="echo">Whether NATS sends this connection's own publishes back to it.</param>
    /// <param name="listen">Starts listening to a channel's messages; disposing the result stops and drains it.</param>
    /// <param name="connected">Runs once after the first connection, before any channel is listened to.</param>
    /// <param name="restored">Called whenever the connection (re)opens.</param>
    public NatsLink(NatsBackplaneOptions options, Guid nodeId, bool echo, Func<string, CancellationToken, Task<IAsyncDisposable>> listen,
        Func<NatsConnection, CancellationToken, Task>? connected = null, Action? restored = null)
    {
        _listen = listen;
        _connected = connected;
        _restored = restored;
        Connection = new NatsConnection(NatsConnectionOptions.Create(options, nodeId, echo));
        Connection.ConnectionOpened += (_, _) =>
        {
            // A listener that failed while NATS was down is retried now (the client re-sends the subscriptions it has).
            if (_pubSub is not null)
            {
                foreach (string channel in _pubSub.Channels())
                {
                    _interest.Writer.TryWrite(channel);
                }
            }
            _restored?.Invoke();
            return ValueTask.CompletedTask;
        };
    }

    public NatsConnection Connection { get; }

    public bool IsConnected => Connection.ConnectionState == NatsConnectionState.Open;

    /// <summary>Stops the background work when the link is disposed.</summary>
    public CancellationToken Stopping => _stop.Token;

    /// <summary>The listeners of the channels listened to now.</summary>
    public ICollection<IAsyncDisposable> Listeners => _listeners.Values;

    public void Start(PubSub pubSub)
    {
        if (Interlocked.CompareExchange(ref _pubSub, pubSub, null) is not null)
        {
            throw new InvalidOperationException("This backplane is already attached.");
        }
        _loop = Task.Run(RunAsync);
    }

    public void InterestChanged(string channel) => _interest.Writer.TryWrite(channel);

    public async ValueTask DisposeAsync()
    {
        _interest.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        foreach (IAsyncDisposable listener in _listeners.Values)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
        _listeners.Clear();
        await Connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        try
        {
            // RetryOnInitialConnect: a broker that is down at start-up is retried with the reconnect backoff.
            await Connection.ConnectAsync().ConfigureAwait(false);
            if (_connected is not null)
            {
                await _connected(Connection, _stop.Token).ConfigureAwait(false);
            }
            await foreach (string channel in _interest.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                await ReconcileAsync(channel).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task ReconcileAsync(string channel)
    {
        bool wanted = _pubSub!.SubscriberCount(channel) > 0;
        bool listening = _listeners.TryGetValue(channel, out IAsyncDisposable? listener);
        try
        {
            if (wanted && !listening)
            {
                _listeners[channel] = await _listen(channel, _stop.Token).ConfigureAwait(false);
            }
            else if (!wanted && listening)
            {
                _listeners.TryRemove(channel, out _);
                // Drained before a later listen to the same channel starts a second reader.
                await listener!.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (NatsException)
        {
            // NATS is down: ConnectionOpened re-checks every channel.
        }
    }
}
