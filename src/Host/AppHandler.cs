using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Engine;
using Engine.History;

namespace Host;

/// <summary>
/// The real-time messaging protocol of the Host (docs/protocol.md): JSON text messages to authenticate, join and leave
/// channels, publish to a channel and fetch files; a binary envelope to publish binary payloads. Channels are the
/// engine's <see cref="PubSub"/>: a publish is framed once and queued to every other subscriber, and a slow subscriber
/// is handled by the server's slow-consumer policy without delaying the others.
/// </summary>
public sealed partial class AppHandler : IWebSocketHandler, IAsyncDisposable
{
    private readonly AppOptions _options;
    private readonly DiagnosticsEndpoints? _diagnostics;
    private ChannelHistory? _history;

    /// <summary>Creates the handler; with a secret it starts the one background sweep that enforces the auth timeout.</summary>
    public AppHandler(AppOptions options, DiagnosticsEndpoints? diagnostics = null, HostMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _diagnostics = diagnostics;
        Metrics = metrics ?? new HostMetrics();
        _files = options.FilesDirectory is null ? null : new FileResolver(options.FilesDirectory);
        if (options.AuthSecret is not null)
        {
            _tokenParameters = CreateTokenParameters(options);
            _sweep = SweepAsync(_stopSweep.Token);
        }
    }

    /// <summary>
    /// Subscribes through <paramref name="history"/> from now on: subscribers get history positions and may resume
    /// after one (docs/protocol.md). Called once, before the server starts.
    /// </summary>
    public void UseHistory(ChannelHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        _history = history;
    }

    /// <summary>The protocol's counters (auth, channels, publishes, files).</summary>
    public HostMetrics Metrics { get; }

    /// <summary>Connections that have not authenticated yet.</summary>
    public int PendingAuthentications => _pending.Count;

    /// <inheritdoc/>
    public HttpResponse? OnHttpRequest(RequestHead request) => _diagnostics?.Handle(request);

    /// <inheritdoc/>
    public UpgradeDecision OnUpgrade(RequestHead request)
    {
        if (_options.AllowedOrigins.Count > 0 && request.GetHeader("Origin") is { } origin && !IsAllowedOrigin(origin))
        {
            return UpgradeDecision.Reject(403);
        }
        if (_options.AllowQueryToken && _tokenParameters is not null && QueryToken(request.Query) is { } token)
        {
            // A bad token in the URL is refused before the upgrade; a good one authenticates the connection at once.
            if (ValidateToken(token) is { } user)
            {
                return UpgradeDecision.Accept(state: new QueryAuthentication(user));
            }
            Metrics.AuthFailed(timedOut: false);
            return UpgradeDecision.Reject(401);
        }
        return UpgradeDecision.Accept();
    }

    /// <inheritdoc/>
    public void OnOpen(WebSocketConnection connection)
    {
        string? user = (connection.UserState as QueryAuthentication)?.User;
        var state = new AppConnection(connection, user, _options.AuthRequired, Environment.TickCount64 + (long)_options.AuthTimeout.TotalMilliseconds);
        connection.UserState = state;
        if (!state.IsAuthenticated)
        {
            _pending[connection.Id] = state;
        }
        Outgoing.Send(connection, new ConnectedMessage(state.Id), AppJsonContext.Default.ConnectedMessage);
        if (user is not null)
        {
            Metrics.AuthSucceeded();
            Outgoing.Send(connection, new AuthenticatedMessage(user), AppJsonContext.Default.AuthenticatedMessage);
        }
    }

    /// <inheritdoc/>
    public void OnClose(WebSocketConnection connection, CloseCode code, string reason) => _pending.TryRemove(connection.Id, out _);

    /// <inheritdoc/>
    public void OnMessage(WebSocketConnection connection, ReadOnlySpan<byte> payload, MessageType type)
    {
        if (connection.UserState is not AppConnection state || state.IsRejected)
        {
            return;
        }
        if (!state.IsAuthenticated)
        {
            Authenticate(state, payload, type);
            return;
        }
        if (type == MessageType.Binary)
        {
            PublishBinary(state, payload);
            return;
        }
        if (ClientMessage.TryParse(payload, out ClientMessage message) is { } error)
        {
            Outgoing.Error(connection, error);
            return;
        }
        switch (message.Type)
        {
            case ClientMessageType.Message:
                Publish(state, in message);
                break;
            case ClientMessageType.Subscribe:
                Subscribe(state, in message);
                break;
            case ClientMessageType.Unsubscribe:
                Unsubscribe(state, message.Channel);
                break;
            case ClientMessageType.Ping:
                Outgoing.Send(connection, new PongMessage(), AppJsonContext.Default.PongMessage);
                break;
            case ClientMessageType.Auth:
                Outgoing.Error(connection, _options.AuthRequired ? "already authenticated" : "authentication is not enabled on this server");
                break;
            case ClientMessageType.RequestFile:
                RequestFile(state, ClientMessage.GetString(message.Name));
                break;
        }
    }

    /// <summary>Stops the auth sweep.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopSweep.CancelAsync().ConfigureAwait(false);
        if (_sweep is not null)
        {
            await _sweep.ConfigureAwait(false);
        }
        _stopSweep.Dispose();
    }

    private void Subscribe(AppConnection state, in ClientMessage message)
    {
        Span<byte> name = stackalloc byte[ChannelName.MaxLength];
        if (ChannelName.Decode(message.Channel, name, out int length) is { } error)
        {
            Outgoing.Error(state.Connection, error);
            return;
        }
        string channel = state.ChannelString(name[..length]);
        if (!state.Channels.Contains(channel))
        {
            if (state.Channels.Count >= _options.MaxChannels)
            {
                Outgoing.Error(state.Connection, $"too many channels (at most {_options.MaxChannels} per connection)");
                return;
            }
            if (_history is { } history)
            {
                // Joined (and `subscribed` sent) once the broker gave the position and any missed messages were queued.
                ChannelPosition? since = message.Offset >= 0 ? new ChannelPosition(message.Offset, ClientMessage.GetString(message.Epoch)) : null;
                state.Channels.Add(channel);
                Metrics.Joined();
                _ = SubscribeWithHistoryAsync(history, state.Connection, channel, since);
                return;
            }
            if (!state.Connection.Server.PubSub.Subscribe(state.Connection, channel))
            {
                return; // closing
            }
            state.Channels.Add(channel);
            Metrics.Joined();
        }
        Outgoing.Send(state.Connection, new SubscribedMessage(channel), AppJsonContext.Default.SubscribedMessage);
    }

    private static async Task SubscribeWithHistoryAsync(ChannelHistory history, WebSocketConnection connection, string channel, ChannelPosition? since)
    {
        // `subscribed` goes out under the channel's gate: after the replayed messages, before any live one.
        await history.SubscribeAsync(connection, channel, since, (joined, outcome) => Outgoing.Send(joined,
            new SubscribedMessage(channel, outcome.Position?.Offset, outcome.Position?.Epoch, outcome.Recovered),
            AppJsonContext.Default.SubscribedMessage)).ConfigureAwait(false);
    }

    private void Unsubscribe(AppConnection state, ReadOnlySpan<byte> rawChannel)
    {
        Span<byte> name = stackalloc byte[ChannelName.MaxLength];
        if (ChannelName.Decode(rawChannel, name, out int length) is { } error)
        {
            Outgoing.Error(state.Connection, error);
            return;
        }
        string channel = state.ChannelString(name[..length]);
        if (!state.Channels.Remove(channel))
        {
            Outgoing.Error(state.Connection, "not subscribed to this channel");
            return;
        }
        state.Connection.Server.PubSub.Unsubscribe(state.Connection, channel);
        Metrics.Left();
        Outgoing.Send(state.Connection, new UnsubscribedMessage(channel), AppJsonContext.Default.UnsubscribedMessage);
    }

    private void Publish(AppConnection state, in ClientMessage message)
    {
        Span<byte> name = stackalloc byte[ChannelName.MaxLength];
        if (ChannelName.Decode(message.Channel, name, out int length) is { } error)
        {
            Outgoing.Error(state.Connection, error);
            return;
        }
        // Built once per publish; PubSub frames it once and queues the same buffer to every other subscriber.
        Utf8JsonWriter writer = Outgoing.Begin();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("channel"u8, name[..length]);
        writer.WritePropertyName("content"u8);
        // The client's value exactly as it sent it: Utf8JsonReader has validated it already.
        writer.WriteRawValue(message.Content, skipInputValidation: true);
        writer.WriteString("from"u8, state.From);
        writer.WriteEndObject();
        state.Connection.Server.PubSub.Publish(state.ChannelString(name[..length]), Outgoing.End(writer), MessageType.Text, exclude: state.Connection);
        Metrics.Published(binary: false);
    }

    private void PublishBinary(AppConnection state, ReadOnlySpan<byte> envelope)
    {
        if (BinaryEnvelope.TryParsePublish(envelope, out ReadOnlySpan<byte> channel, out ReadOnlySpan<byte> payload) is { } error)
        {
            Outgoing.Error(state.Connection, error);
            return;
        }
        byte[] from = state.FromUtf8;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BinaryEnvelope.MessageLength(channel.Length, from.Length, payload.Length));
        try
        {
            int written = BinaryEnvelope.WriteMessage(buffer, channel, from, payload);
            state.Connection.Server.PubSub.Publish(state.ChannelString(channel), buffer.AsSpan(0, written), MessageType.Binary, exclude: state.Connection);
            Metrics.Published(binary: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool IsAllowedOrigin(string origin)
    {
        foreach (string allowed in _options.AllowedOrigins)
        {
            if (string.Equals(allowed, origin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static string? QueryToken(string query)
    {
        foreach (Range pair in query.AsSpan().Split('&'))
        {
            ReadOnlySpan<char> part = query.AsSpan(pair);
            if (part.StartsWith("token="))
            {
                return Uri.UnescapeDataString(part["token=".Length..].ToString());
            }
        }
        return null;
    }

    /// <summary>The user authenticated by a URL token, carried from the upgrade to <see cref="OnOpen"/>.</summary>
    private sealed record QueryAuthentication(string User);
}
