using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Engine;

/// <summary>
/// What every broker's <see cref="IPubSubBackplane"/> shares, for backplane authors: attached once; the broker
/// connection made in the background; one broker subscription (a listener) per channel that has local subscribers,
/// kept by a single reader that reconciles interest changes, so it follows the local subscriber count however fast that
/// flips; every channel re-checked when the connection comes back (<see cref="RecheckChannels"/>); the publish guard (a
/// publish while the broker is down is counted in <see cref="UndeliveredMessages"/> and dropped, never queued to arrive
/// minutes late); the counters; and the plain delivery of what other nodes published (<see cref="DeliverFromBroker"/>).
/// A derived class says how to connect (<see cref="ConnectAsync"/>), to listen to one channel (<see cref="ListenAsync"/>)
/// and to hand a message to the broker (<see cref="SendToBroker"/>).
/// </summary>
public abstract class BackplaneBase : IPubSubBackplane
{
    private readonly Channel<string> _interest = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, IAsyncDisposable> _listeners = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop;
    private readonly CancellationToken _stopping;
    private IBackplaneSink? _sink;
    private Task? _loop;
    private long _undelivered;
    private long _received;
    private int _disposed;

    /// <summary>Gives the backplane its <see cref="NodeId"/>; nothing connects before <see cref="Attach"/>.</summary>
    protected BackplaneBase()
    {
        _stop = new CancellationTokenSource();
        // Kept apart from the source: work that outlives the dispose may still read it (cancelled) without a throw.
        _stopping = _stop.Token;
    }

    /// <inheritdoc/>
    public Guid NodeId { get; } = Guid.NewGuid();

    /// <inheritdoc/>
    public abstract bool IsConnected { get; }

    /// <inheritdoc/>
    public long UndeliveredMessages => Interlocked.Read(ref _undelivered);

    /// <inheritdoc/>
    public long ReceivedMessages => Interlocked.Read(ref _received);

    /// <summary>Channels this node listens to at the broker now.</summary>
    public int SubscribedChannels => _listeners.Count;

    /// <summary>How the backplane reaches this node's subscribers; set by <see cref="Attach"/>.</summary>
    protected IBackplaneSink Sink => _sink ?? throw new InvalidOperationException("The backplane is not attached.");

    /// <summary>Cancelled when the backplane is disposed: stops the background work.</summary>
    protected CancellationToken Stopping => _stopping;

    /// <summary>The channels listened to now.</summary>
    protected ICollection<string> ListenedChannels => _listeners.Keys;

    /// <summary>The listeners of the channels listened to now (what <see cref="ListenAsync"/> returned).</summary>
    protected ICollection<IAsyncDisposable> Listeners => _listeners.Values;

    /// <summary>
    /// Whether a publish may go to the broker now; when false, <see cref="Publish"/> counts it as undelivered and local
    /// subscribers get it at once. Checked before the envelope is made: while disconnected a broker client would hold
    /// the publish and send it after the reconnect, late.
    /// </summary>
    protected virtual bool CanPublish => IsConnected;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The backplane is attached already.</exception>
    public void Attach(IBackplaneSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        CheckSink(sink);
        if (Interlocked.CompareExchange(ref _sink, sink, null) is not null)
        {
            throw new InvalidOperationException("This backplane is already attached.");
        }
        _loop = Task.Run(RunAsync);
    }

    /// <inheritdoc/>
    public void ChannelInterestChanged(string channel) => _interest.Writer.TryWrite(channel);

    /// <inheritdoc/>
    public bool Publish(string channel, ReadOnlySpan<byte> payload, MessageType type, long senderId)
    {
        if (!CanPublish)
        {
            CountUndelivered();
            return false;
        }
        return SendToBroker(channel, BackplaneEnvelope.Create(NodeId, senderId, payload, type));
    }

    /// <summary>Stops listening, then closes the broker connection (<see cref="CloseAsync"/>). Once; later calls do nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _interest.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        foreach (IAsyncDisposable listener in _listeners.Values)
        {
            await StopListenerAsync(listener).ConfigureAwait(false);
        }
        _listeners.Clear();
        await CloseAsync().ConfigureAwait(false);
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Refuses a sink this backplane cannot work with (<see cref="Attach"/> then throws); accepts any by default.</summary>
    protected virtual void CheckSink(IBackplaneSink sink)
    {
    }

    /// <summary>Connects to the broker, once, on a background task after <see cref="Attach"/>; the first channel is listened to after it completes.</summary>
    protected abstract Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Starts receiving <paramref name="channel"/>'s messages from the broker, in order; disposing the result stops and
    /// drains it (so a later listen to the same channel does not start a second reader).
    /// </summary>
    protected abstract Task<IAsyncDisposable> ListenAsync(string channel, CancellationToken cancellationToken);

    /// <summary>
    /// Hands a local publish to the broker; <paramref name="envelope"/> (a <see cref="BackplaneEnvelope"/>) is the
    /// callee's from now on. Returns what <see cref="IPubSubBackplane.Publish"/> returns. Must not block; a failure
    /// found later is counted with <see cref="CountUndelivered"/> (or <see cref="CountIfFailed"/>).
    /// </summary>
    protected abstract bool SendToBroker(string channel, byte[] envelope);

    /// <summary>Whether <paramref name="exception"/> means the broker cannot be reached (a listen then waits for <see cref="RecheckChannels"/>).</summary>
    protected abstract bool IsBrokerFailure(Exception exception);

    /// <summary>Closes the broker connection; called once by <see cref="DisposeAsync"/>, after every listener has stopped.</summary>
    protected abstract ValueTask CloseAsync();

    /// <summary>
    /// Re-checks every channel that has local subscribers: call when the broker connection (re)opens, so a listen that
    /// failed while the broker was down is made now.
    /// </summary>
    protected void RecheckChannels()
    {
        if (Volatile.Read(ref _sink) is not { } sink)
        {
            return;
        }
        foreach (string channel in sink.Channels())
        {
            _interest.Writer.TryWrite(channel);
        }
    }

    /// <summary>Completes once <paramref name="channel"/>'s <see cref="ListenAsync"/> has returned (at once if it has).</summary>
    protected Task WaitForListenerAsync(string channel, CancellationToken cancellationToken)
    {
        if (_listeners.ContainsKey(channel))
        {
            return Task.CompletedTask;
        }
        TaskCompletionSource waiting = _waiting.GetOrAdd(channel, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        // Listened to between the first check and the registration: the reconcile may have missed the waiter.
        return _listeners.ContainsKey(channel) ? Task.CompletedTask : waiting.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Delivers a message another node published to this node's subscribers: <paramref name="envelope"/> is a
    /// <see cref="BackplaneEnvelope"/> from the broker; this node's own (which it delivered locally already) and
    /// unreadable ones are skipped. The sender id is another node's connection id, meaningless here.
    /// </summary>
    protected void DeliverFromBroker(string channel, ReadOnlySpan<byte> envelope)
    {
        if (!BackplaneEnvelope.TryRead(envelope, out Guid origin, out _, out MessageType type, out ReadOnlySpan<byte> payload)
            || origin == NodeId)
        {
            return;
        }
        CountReceived();
        Sink.Deliver(channel, payload, type);
    }

    /// <summary>Counts a publish that did not reach the broker.</summary>
    protected void CountUndelivered() => Interlocked.Increment(ref _undelivered);

    /// <summary>Counts a message received from another node.</summary>
    protected void CountReceived() => Interlocked.Increment(ref _received);

    /// <summary>Counts a publish still in flight as undelivered if it fails (its exception is observed, not thrown).</summary>
    protected void CountIfFailed(Task sent) =>
        sent.ContinueWith(static (task, state) =>
        {
            _ = task.Exception;
            ((BackplaneBase)state!).CountUndelivered();
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);

    private async Task RunAsync()
    {
        try
        {
            await ConnectAsync(_stop.Token).ConfigureAwait(false);
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
        bool wanted = _sink!.HasSubscribers(channel);
        bool listening = _listeners.TryGetValue(channel, out IAsyncDisposable? listener);
        if (wanted && !listening)
        {
            try
            {
                _listeners[channel] = await ListenAsync(channel, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (IsBrokerFailure(exception))
            {
                return; // the broker is down: RecheckChannels on the reconnect listens again
            }
            if (_waiting.TryRemove(channel, out TaskCompletionSource? waiting))
            {
                waiting.TrySetResult();
            }
        }
        else if (!wanted)
        {
            _waiting.TryRemove(channel, out _); // a waiter that left before the listen: nothing to wait for
            if (listening)
            {
                _listeners.TryRemove(channel, out _);
                await StopListenerAsync(listener!).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask StopListenerAsync(IAsyncDisposable listener)
    {
        try
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception exception) when (IsBrokerFailure(exception))
        {
            // The broker is down: its side of the subscription goes with the connection.
        }
    }
}
