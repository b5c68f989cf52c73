using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Session;

namespace Engine.Runtime;

/// <summary>
/// One server's counters and its <see cref="Meter"/>. The per-message path only bumps plain counters that the calling
/// thread owns for this server (<see cref="ThreadCounters"/>: no interlocked add, no cache line shared with another
/// thread); observable instruments read and sum them when a listener collects, so a message costs the same whether anyone
/// listens or not, and nothing allocates.
/// Rare events (opens, closes by code, rejections by reason) count in per-key boxes whose tag arrays are built once.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private const string CloseCodeTag = "websocket.close_code";
    private const string StatusTag = "http.response.status_code";
    private const string ReasonTag = "websocket.reject_reason";

    private readonly IServerGauges _server;
    // Identifies this server's counters in a thread's cache without keeping the server alive from a thread-static.
    private readonly object _countersKey = new();
    private ThreadCounters[] _counters = [];
    private readonly ConcurrentDictionary<int, TaggedCount> _closed = new();
    private readonly ConcurrentDictionary<(int Status, HandshakeRejection Reason), TaggedCount> _rejected = new();
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _fanout;
    private long _opened;
    private long _dropped;
    private long _publishes;

    public ServerMetrics(IServerGauges server, IMeterFactory? factory)
    {
        _server = server;
        _ownsMeter = factory is null;
        _meter = factory?.Create(new MeterOptions(WebSocketTelemetry.MeterName)) ?? new Meter(WebSocketTelemetry.MeterName);

        _meter.CreateObservableUpDownCounter("websocket.server.active_connections", () => (long)_server.OpenWebSocketCount,
            "{connection}", "Upgraded WebSocket connections open now.");
        _meter.CreateObservableCounter("websocket.server.connections.opened", () => Volatile.Read(ref _opened),
            "{connection}", "Upgrades completed (101 sent).");
        _meter.CreateObservableCounter("websocket.server.connections.closed", () => Snapshot(_closed),
            "{connection}", "Opened connections that ended, by close code (1006: dropped without a close handshake).");
        _meter.CreateObservableCounter("websocket.server.handshakes.rejected", () => Snapshot(_rejected),
            "{handshake}", "Upgrade attempts refused, by HTTP status and reason.");
        _meter.CreateObservableCounter("websocket.server.messages.received", () => Sum(static c => c.MessagesIn),
            "{message}", "Data messages received.");
        _meter.CreateObservableCounter("websocket.server.messages.sent", () => Sum(static c => c.MessagesOut),
            "{message}", "Data messages queued for sending (pub/sub: one per subscriber).");
        _meter.CreateObservableCounter("websocket.server.bytes.received", () => Sum(static c => c.BytesIn),
            "By", "Payload bytes of data messages received.");
        _meter.CreateObservableCounter("websocket.server.bytes.sent", () => Sum(static c => c.BytesOut),
            "By", "Payload bytes of data messages queued for sending.");
        _meter.CreateObservableGauge("websocket.server.send_queue.bytes", () => SendQueue(max: false),
            "By", "Bytes queued for sending, summed over all connections.");
        _meter.CreateObservableGauge("websocket.server.send_queue.max_bytes", () => SendQueue(max: true),
            "By", "The largest send queue of a single connection.");
        _meter.CreateObservableUpDownCounter("websocket.server.timers.scheduled", () => (long)_server.ScheduledTimers,
            "{timer}", "Timer-wheel entries waiting to fire: one per live connection plus the server's own (a leak shows as a count that stays up).");
        _meter.CreateObservableCounter("websocket.server.messages.dropped", () => Volatile.Read(ref _dropped),
            "{message}", "Sends refused by the slow-consumer policy (SendStatus.Backpressure).");
        _meter.CreateObservableUpDownCounter("websocket.server.pubsub.channels", () => (long)_server.ChannelCount,
            "{channel}", "Pub/sub channels with at least one subscriber.");
        _meter.CreateObservableCounter("websocket.server.pubsub.publishes", () => Volatile.Read(ref _publishes),
            "{message}", "Publish calls that had subscribers.");
        _meter.CreateObservableCounter("websocket.server.pubsub.deliveries", () => _server.Deliveries,
            "{message}", "Messages queued to subscribers by pub/sub.");
        _fanout = _meter.CreateHistogram("websocket.server.pubsub.fanout.duration", "s",
            "Time one Publish takes to frame a message and queue it to every subscriber.",
            advice: new InstrumentAdvice<double>
            {
                HistogramBucketBoundaries = [0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1],
            });
    }

    /// <summary>How many threads' sets of counts this server holds (tests: bounded by the threads alive at once).</summary>
    internal int CounterSets => Volatile.Read(ref _counters).Length;

    /// <summary>Whether a listener wants fan-out timings (so Publish reads the clock only then).</summary>
    public bool FanoutEnabled => _fanout.Enabled;

    /// <summary>A data message (or, streamed, a piece of one) arrived. Any thread; allocation-free.</summary>
    public void Received(int bytes, bool endOfMessage)
    {
        ThreadCounters counters = Current();
        counters.MessagesIn += endOfMessage ? 1 : 0;
        counters.BytesIn += bytes;
    }

    /// <summary><paramref name="messages"/> data messages of <paramref name="bytes"/> payload bytes in total were queued. Any thread; allocation-free.</summary>
    public void Sent(int messages, long bytes)
    {
        ThreadCounters counters = Current();
        counters.MessagesOut += messages;
        counters.BytesOut += bytes;
    }

    public void Dropped(int messages) => Interlocked.Add(ref _dropped, messages);

    public void Published(long startTimestamp)
    {
        Interlocked.Increment(ref _publishes);
        if (startTimestamp != 0)
        {
            _fanout.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        }
    }

    public void Opened() => Interlocked.Increment(ref _opened);

    public void Closed(CloseCode code) =>
        Interlocked.Increment(ref _closed.GetOrAdd((int)code, static c => new TaggedCount([new(CloseCodeTag, c)])).Count);

    public void Rejected(int status, HandshakeRejection reason) =>
        Interlocked.Increment(ref _rejected.GetOrAdd((status, reason), static key => new TaggedCount(key.Status == 0
            ? [new(ReasonTag, ReasonName(key.Reason))]
            : [new(StatusTag, key.Status), new(ReasonTag, ReasonName(key.Reason))])).Count);

    /// <summary>Ends the meter if the server created it; a factory's meter belongs to the factory.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    internal static string ReasonName(HandshakeRejection reason) => reason switch
    {
        HandshakeRejection.BadRequest => "bad_request",
        HandshakeRejection.InvalidHandshake => "invalid_handshake",
        HandshakeRejection.NotUpgrade => "not_upgrade",
        HandshakeRejection.Application => "application",
        HandshakeRejection.MaxConnections => "max_connections",
        HandshakeRejection.HandlerError => "handler_error",
        _ => "timeout",
    };

    /// <summary>The calling thread's counters for this server: one thread-static read and a compare on the per-message path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ThreadCounters Current()
    {
        ThreadCounters? cached = _threadCounters;
        return cached is not null && cached.Key == _countersKey ? cached : Adopt();
    }

    /// <summary>
    /// First count of this thread for this server (or after it counted for another server): finds its counters, or takes
    /// over those of a thread that has ended (their totals stay; the number of sets is bounded by the threads alive at
    /// once), or adds a set.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ThreadCounters Adopt()
    {
        Thread thread = Thread.CurrentThread;
        lock (_countersKey)
        {
            // Loops, not lambdas: a thread that counts for two servers in turn comes here each time, and must not allocate.
            ThreadCounters? found = null;
            foreach (ThreadCounters counters in _counters)
            {
                if (counters.Owner == thread)
                {
                    found = counters;
                    break;
                }
                if (found is null && !counters.Owner.IsAlive)
                {
                    found = counters;
                }
            }
            if (found is null)
            {
                found = new ThreadCounters(_countersKey);
                Volatile.Write(ref _counters, [.. _counters, found]);
            }
            found.Owner = thread;
            _threadCounters = found;
            return found;
        }
    }

    private long Sum(Func<ThreadCounters, long> field)
    {
        long total = 0;
        foreach (ThreadCounters counters in Volatile.Read(ref _counters))
        {
            total += field(counters);
        }
        return total;
    }

    private long SendQueue(bool max)
    {
        (long total, long largest) = _server.SendQueueBytes();
        return max ? largest : total;
    }

    private static List<Measurement<long>> Snapshot<TKey>(ConcurrentDictionary<TKey, TaggedCount> counts)
        where TKey : notnull
    {
        var measurements = new List<Measurement<long>>(counts.Count);
        foreach (KeyValuePair<TKey, TaggedCount> entry in counts)
        {
            measurements.Add(new Measurement<long>(Volatile.Read(ref entry.Value.Count), entry.Value.Tags));
        }
        return measurements;
    }

    private sealed class TaggedCount(KeyValuePair<string, object?>[] tags)
    {
        public readonly KeyValuePair<string, object?>[] Tags = tags;
        public long Count;
    }

    /// <summary>
    /// One thread's counts for one server. Only its owner writes them, with plain adds: an interlocked add per message
    /// cost about 1% of the loop's core each in the pipelined echo profile. A reader sees each aligned 64-bit count whole
    /// (64-bit processes; a 32-bit one may read a torn value, which a metric tolerates). The counts sit 64 bytes past the
    /// header and 64 before the end, so two threads' sets never share a cache line wherever the GC places them.
    /// </summary>
    [StructLayout(LayoutKind.Explicit)]
    private sealed class ThreadCounters(object key)
    {
        [FieldOffset(0)] public readonly object Key = key;
        [FieldOffset(8)] public Thread Owner = null!;
        [FieldOffset(64)] public long MessagesIn;
        [FieldOffset(72)] public long BytesIn;
        [FieldOffset(80)] public long MessagesOut;
        [FieldOffset(88)] public long BytesOut;
        [FieldOffset(152)] private readonly long _padding;
    }

    [ThreadStatic]
    private static ThreadCounters? _threadCounters;
}
