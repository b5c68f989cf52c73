using System.Text.Json;

namespace Engine.Client;

/// <summary>
/// The connection loop: connect, authenticate and re-subscribe, receive until the connection ends, heartbeat, then
/// reconnect with backoff; and what the receive task does with each message.
/// </summary>
public sealed partial class EngineClient
{
    private async Task RunAsync()
    {
        while (true)
        {
            State = EngineClientState.Connecting;
            int code = 1006;
            string reason = "";
            _heartbeatTimedOut = false;
            WebSocketClientConnection? connection = null;
            using var connectionStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            Task? heartbeat = null;
            try
            {
                using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    connectTimeout.CancelAfter(_options.ConnectTimeout);
                    connection = await WebSocketClientConnection.ConnectAsync(_options.Uri, _options.Subprotocols, connectTimeout.Token).ConfigureAwait(false);
                }
                _connection = connection;
                string? token = _options.TokenProvider is { } provider ? await provider(_stop.Token).ConfigureAwait(false) : _options.Token;
                if (token is not null)
                {
                    State = EngineClientState.Authenticating;
                    // The token is the first message on the socket: the Host processes nothing before it.
                    await connection.SendAsync(Opcode.Text, HostProtocol.Message("auth", "token", token)).ConfigureAwait(false);
                }
                (code, reason) = await ReceiveLoopAsync(connection, token is not null, () => heartbeat ??= HeartbeatAsync(connection, connectionStop.Token)).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !_stop.IsCancellationRequested)
            {
                if (!_closing && !_heartbeatTimedOut)
                {
                    Fail(new EngineClientException(EngineClientErrorKind.Socket, exception.Message, exception));
                }
            }
            catch (OperationCanceledException)
            {
                code = 1000;
            }
            await connectionStop.CancelAsync().ConfigureAwait(false);
            await _gate.WaitAsync().ConfigureAwait(false);
            _ready = false;
            _connection = null;
            _gate.Release();
            if (heartbeat is not null)
            {
                await heartbeat.ConfigureAwait(false);
            }
            FailFiles(new EngineClientException(EngineClientErrorKind.File, $"connection closed ({code}) during a file request"));
            CancelPongs();
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            if (_heartbeatTimedOut)
            {
                (code, reason) = (4000, "Heartbeat timeout");
            }
            Closed?.Invoke(code, reason);

            string? final = _closing ? null
                : code == 4001 ? "Unauthorized"
                : _attempt >= _options.MaxRetries ? $"gave up after {_options.MaxRetries} reconnection attempts"
                : "";
            if (final is null || final.Length > 0)
            {
                State = EngineClientState.Closed;
                lock (_queue)
                {
                    _queue.Clear();
                }
                if (final is not null)
                {
                    var error = new EngineClientException(code == 4001 ? EngineClientErrorKind.Unauthorized : EngineClientErrorKind.RetriesExhausted, final);
                    Fail(error);
                    _firstOpen.TrySetException(error);
                }
                return;
            }
            TimeSpan delay = _options.Backoff(_attempt, Random.Shared.NextDouble());
            _attempt++;
            State = EngineClientState.Reconnecting;
            Reconnecting?.Invoke(_attempt, delay);
            try
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                State = EngineClientState.Closed;
                return;
            }
        }
    }

    private async Task<(int Code, string Reason)> ReceiveLoopAsync(WebSocketClientConnection connection, bool authenticating, Func<Task> startHeartbeat)
    {
        while (true)
        {
            ReceivedMessage received = await connection.ReceiveAsync(_stop.Token).ConfigureAwait(false);
            if (received.Type == Opcode.Close)
            {
                return (received.CloseCode, received.CloseReason);
            }
            if (received.Type == Opcode.Binary)
            {
                OnBinary(received.Payload);
                continue;
            }
            using var document = JsonDocument.Parse(received.Payload);
            JsonElement root = document.RootElement;
            string? type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out JsonElement t) ? t.GetString() : null;
            switch (type)
            {
                case "connected":
                    ConnectionId = root.GetProperty("id").GetString();
                    if (!authenticating)
                    {
                        await BecomeReadyAsync(connection, startHeartbeat).ConfigureAwait(false);
                    }
                    break;
                case "authenticated":
                    User = root.GetProperty("user").GetString();
                    await BecomeReadyAsync(connection, startHeartbeat).ConfigureAwait(false);
                    break;
                case "pong":
                    CompletePongs();
                    break;
                case "message":
                    var channelMessage = new ChannelMessage(root.GetProperty("channel").GetString()!, root.GetProperty("from").GetString()!,
                        root.GetProperty("content").Clone(), root.TryGetProperty("offset", out JsonElement offset) ? offset.GetInt64() : null);
                    Advance(channelMessage.Channel, channelMessage.Offset);
                    MessageReceived?.Invoke(channelMessage);
                    break;
                case "subscribed":
                    OnSubscribed(root);
                    break;
                case "file-meta":
                    OnFileMeta(root.GetProperty("name").GetString()!, root.GetProperty("size").GetInt64());
                    break;
                case "error":
                    string message = root.GetProperty("message").GetString() ?? "";
                    OnServerError(message);
                    Fail(new EngineClientException(EngineClientErrorKind.Server, message));
                    break;
            }
            ServerMessage?.Invoke(root);
        }
    }

    private async Task BecomeReadyAsync(WebSocketClientConnection connection, Func<Task> startHeartbeat)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            string[] channels;
            lock (_channels)
            {
                channels = [.. _channels];
            }
            foreach (string channel in channels)
            {
                // With a position (the server keeps history), the server first sends what was missed since.
                await connection.SendAsync(Opcode.Text, HostProtocol.Subscribe(channel, GetPosition(channel))).ConfigureAwait(false);
            }
            while (true)
            {
                (Opcode Type, byte[] Payload) next;
                lock (_queue)
                {
                    if (!_queue.TryDequeue(out next))
                    {
                        break;
                    }
                }
                await connection.SendAsync(next.Type, next.Payload).ConfigureAwait(false);
            }
            _ready = true;
            _attempt = 0; // a successful open resets the retry count
        }
        finally
        {
            _gate.Release();
        }
        if (_options.HeartbeatInterval > TimeSpan.Zero)
        {
            _ = startHeartbeat();
        }
        State = EngineClientState.Open;
        Opened?.Invoke();
        _firstOpen.TrySetResult();
    }

    private async Task HeartbeatAsync(WebSocketClientConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.HeartbeatInterval, cancellationToken).ConfigureAwait(false);
                var pong = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                lock (_pongLock)
                {
                    _pongWaiters.Add(pong);
                }
                await connection.SendAsync(Opcode.Text, HostProtocol.Message("ping"), cancellationToken).ConfigureAwait(false);
                Task first = await Task.WhenAny(pong.Task, Task.Delay(_options.HeartbeatTimeout, cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                if (first != pong.Task)
                {
                    // A server that stopped answering will not complete a closing handshake either: send the close,
                    // then drop the connection so the receive loop ends and the reconnection starts now.
                    _heartbeatTimedOut = true;
                    using var closeTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                    try
                    {
                        await connection.CloseAsync(4000, "Heartbeat timeout", closeTimeout.Token).ConfigureAwait(false);
                    }
                    catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException)
                    {
                    }
                    connection.Abort();
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // the connection ended: the receive loop reports it
        }
    }

    private void CompletePongs()
    {
        TaskCompletionSource[] waiters;
        lock (_pongLock)
        {
            waiters = [.. _pongWaiters];
            _pongWaiters.Clear();
        }
        foreach (TaskCompletionSource waiter in waiters)
        {
            waiter.TrySetResult();
        }
    }

    // Canceled rather than faulted: the heartbeat's own waiters are never awaited once the connection is gone.
    private void CancelPongs()
    {
        TaskCompletionSource[] waiters;
        lock (_pongLock)
        {
            waiters = [.. _pongWaiters];
            _pongWaiters.Clear();
        }
        foreach (TaskCompletionSource waiter in waiters)
        {
            waiter.TrySetCanceled();
        }
    }

    private void OnBinary(byte[] payload)
    {
        if (HostProtocol.TryDecodeChannelEnvelope(payload, out ChannelBinary? message))
        {
            Advance(message!.Channel, message.Offset);
            BinaryReceived?.Invoke(message);
        }
        else if (payload.Length >= 1 && payload[0] == 0x03)
        {
            OnFileData(payload.AsSpan(1));
        }
    }

    // A channel's position moves to the latest offset seen, from messages and from `subscribed`. Messages without an
    // offset (history off, or delivered while the server's broker was down) leave it where it is.
    private void Advance(string channel, long? offset)
    {
        if (offset is not { } seen)
        {
            return;
        }
        lock (_channels)
        {
            if (_positions.TryGetValue(channel, out HistoryPosition position) && seen > position.Offset)
            {
                _positions[channel] = position with { Offset = seen };
            }
        }
    }

    private void OnSubscribed(JsonElement root)
    {
        string channel = root.GetProperty("channel").GetString()!;
        HistoryPosition? position = root.TryGetProperty("offset", out JsonElement offset) && root.TryGetProperty("epoch", out JsonElement epoch)
            ? new HistoryPosition(offset.GetInt64(), epoch.GetString()!)
            : null;
        bool? recovered = root.TryGetProperty("recovered", out JsonElement flag) ? flag.GetBoolean() : null;
        if (position is { } told)
        {
            lock (_channels)
            {
                // Another epoch is another history: its offsets replace ours. Without a position in the answer (no
                // history, or the broker was down) the one we have is kept for the next resume.
                if (_channels.Contains(channel)
                    && (!_positions.TryGetValue(channel, out HistoryPosition known) || known.Epoch != told.Epoch || told.Offset > known.Offset))
                {
                    _positions[channel] = told;
                }
            }
        }
        Subscribed?.Invoke(new ChannelSubscribed(channel, position, recovered));
    }
}
