using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Numerics;
using System.Runtime.InteropServices;
using Engine.Session;

namespace Engine.Runtime;

/// <summary>
/// One server's counters and its <see cref="Meter"/>. The per-message path only bumps plain counters in a stripe picked
/// by thread id (an uncontended interlocked add on a cache line no other stripe shares); observable instruments read and
/// sum them when a listener collects, so a message costs the same whether anyone listens or not, and nothing allocates.
/// Rare events (opens, closes by code, rejections by reason) count in per-key boxes whose tag arrays are built once.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    private const string CloseCodeTag = "websocket.close_code";
    private const string StatusTag = "http.response.status_code";
    private const string ReasonTag = "websocket.reject_reason";

    private readonly IServerGauges _server;
    private readonly Stripe[] _stripes;
    private readonly int _mask;
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
        int stripes = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, Environment.ProcessorCount * 2));
        _stripes = new Stripe[stripes];
        _mask = stripes - 1;
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
        _meter.CreateObservableCounter("websocket.server.messages.received", () => Sum(static s => s.MessagesIn),
            "{message}", "Data messages received.");
        _meter.CreateObservableCounter("websocket.server.messages.sent", () => Sum(static s => s.MessagesOut),
            "{message}", "Data messages queued for sending (pub/sub: one per subscriber).");
        _meter.CreateObservableCounter("websocket.server.bytes.received", () => Sum(static s => s.BytesIn),
            "By", "Payload bytes of data messages received.");
        _meter.CreateObservableCounter("websocket.server.bytes.sent", () => Sum(static s => s.BytesOut),
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

    /// <summary>Whether a listener wants fan-out timings (so Publish reads the clock only then).</summary>
    public bool FanoutEnabled => _fanout.Enabled;

    /// <summary>A data message (or, streamed, a piece of one) arrived. Any thread; allocation-free.</summary>
    public void Received(int bytes, bool endOfMessage)
    {
        ref Stripe stripe = ref _stripes[Environment.CurrentManagedThreadId & _mask];
        if (endOfMessage)
        {
            Interlocked.Increment(ref stripe.MessagesIn);
        }
        Interlocked.Add(ref stripe.BytesIn, bytes);
    }

    /// <summary><paramref name="messages"/> data messages of <paramref name="bytes"/> payload bytes in total were queued. Any thread; allocation-free.</summary>
    public void Sent(int messages, long bytes)
    {
        ref Stripe stripe = ref _stripes[Environment.CurrentManagedThreadId & _mask];
        Interlocked.Add(ref stripe.MessagesOut, messages);
        Interlocked.Add(ref stripe.BytesOut, bytes);
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

    private long Sum(Func<Stripe, long> field)
    {
        long total = 0;
        foreach (Stripe stripe in _stripes)
        {
            total += field(stripe);
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

    // 128 bytes apart: the hot fields of neighbouring stripes never share a 64-byte cache line, wherever the array starts.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Stripe
    {
        [FieldOffset(0)] public long MessagesIn;
        [FieldOffset(8)] public long BytesIn;
        [FieldOffset(16)] public long MessagesOut;
        [FieldOffset(24)] public long BytesOut;
    }
}
