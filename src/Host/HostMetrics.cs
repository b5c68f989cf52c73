using System.Diagnostics.Metrics;

namespace Host;

/// <summary>
/// The application protocol's own instruments (meter <see cref="MeterName"/>): authentications, channel joins and
/// leaves, publishes, file transfers. The handler bumps plain counters (an uncontended interlocked add, no allocation);
/// the instruments are observable and read them only when a listener collects, so nothing costs more when metrics are on.
/// </summary>
public sealed class HostMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Engine.Host";

    private static readonly KeyValuePair<string, object?>[] Text = [new("message.type", "text")];
    private static readonly KeyValuePair<string, object?>[] Binary = [new("message.type", "binary")];
    private static readonly KeyValuePair<string, object?>[] InvalidToken = [new("reason", "invalid")];
    private static readonly KeyValuePair<string, object?>[] Timeout = [new("reason", "timeout")];

    private long _authSucceeded;
    private long _authInvalid;
    private long _authTimedOut;
    private long _joins;
    private long _leaves;
    private long _publishedText;
    private long _publishedBinary;
    private long _filesSent;
    private long _fileBytes;
    private long _fileErrors;

    /// <summary>Counts in memory only; call <see cref="CreateInstruments"/> to publish them.</summary>
    public HostMetrics()
    {
    }

    /// <summary>
    /// Publishes the counters as instruments of a meter from <paramref name="factory"/>; <paramref
    /// name="pendingAuthentications"/> reads the current number of connections that have not authenticated yet.
    /// </summary>
    public void CreateInstruments(IMeterFactory factory, Func<int> pendingAuthentications)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(pendingAuthentications);
        Meter meter = factory.Create(new MeterOptions(MeterName));
        meter.CreateObservableCounter("host.auth.succeeded", () => Volatile.Read(ref _authSucceeded),
            "{connection}", "Connections that authenticated (auth message or URL token).");
        meter.CreateObservableCounter("host.auth.failed", () => new[]
            {
                new Measurement<long>(Volatile.Read(ref _authInvalid), InvalidToken),
                new Measurement<long>(Volatile.Read(ref _authTimedOut), Timeout),
            },
            "{connection}", "Connections refused with 4001 (or 401 for a bad URL token), by reason: invalid (bad token or first message) or timeout.");
        meter.CreateObservableUpDownCounter("host.auth.pending", () => (long)pendingAuthentications(),
            "{connection}", "Connections open but not authenticated yet.");
        meter.CreateObservableCounter("host.channel.joins", () => Volatile.Read(ref _joins),
            "{subscription}", "Channels joined (subscribe to a channel the connection was not in).");
        meter.CreateObservableCounter("host.channel.leaves", () => Volatile.Read(ref _leaves),
            "{subscription}", "Channels left with unsubscribe (closing connections leave theirs without counting here).");
        meter.CreateObservableCounter("host.messages.published", () => new[]
            {
                new Measurement<long>(Volatile.Read(ref _publishedText), Text),
                new Measurement<long>(Volatile.Read(ref _publishedBinary), Binary),
            },
            "{message}", "Channel messages accepted for publishing, by type (JSON message or binary envelope).");
        meter.CreateObservableCounter("host.files.sent", () => Volatile.Read(ref _filesSent),
            "{file}", "File transfers completed (every chunk queued).");
        meter.CreateObservableCounter("host.files.sent_bytes", () => Volatile.Read(ref _fileBytes),
            "By", "File bytes queued to clients.");
        meter.CreateObservableCounter("host.files.failed", () => Volatile.Read(ref _fileErrors),
            "{file}", "File requests answered with an error (not found, refused, unreadable, changed during transfer).");
    }

    internal void AuthSucceeded() => Interlocked.Increment(ref _authSucceeded);

    internal void AuthFailed(bool timedOut) => Interlocked.Increment(ref timedOut ? ref _authTimedOut : ref _authInvalid);

    internal void Joined() => Interlocked.Increment(ref _joins);

    internal void Left() => Interlocked.Increment(ref _leaves);

    internal void Published(bool binary) => Interlocked.Increment(ref binary ? ref _publishedBinary : ref _publishedText);

    internal void FileSent() => Interlocked.Increment(ref _filesSent);

    internal void FileBytes(long bytes) => Interlocked.Add(ref _fileBytes, bytes);

    internal void FileFailed() => Interlocked.Increment(ref _fileErrors);
}
