using System.Buffers;
using Engine.Protocol;
using Engine.Timers;

namespace Engine.Session;

internal sealed partial class WebSocketSession
{
    private int ReceiveHandshake(Span<byte> input, long nowMs)
    {
        HttpRequestHead head = default;
        OperationStatus status = HttpRequestParser.TryParse(input, _settings.MaxRequestHeadSize, ref head, out int errorStatus);
        if (status == OperationStatus.NeedMoreData)
        {
            return 0;
        }
        if (status == OperationStatus.InvalidData)
        {
            _host.OnHandshakeRejected(errorStatus, HandshakeRejection.BadRequest);
            RespondAndClose(errorStatus, null, includeBody: true, nowMs);
            return input.Length;
        }

        HandshakeKind kind = HandshakeValidator.Validate(input, head, out Slice key, out int handshakeStatus);
        bool isHead = head.Method.Of(input).SequenceEqual("HEAD"u8);
        if (kind == HandshakeKind.PlainHttp)
        {
            HttpResponse? response;
            try
            {
                response = _host.OnHttpRequest(input, head);
            }
            catch (Exception)
            {
                // The application's HTTP handler failed: the client gets a 500, the server goes on.
                RespondAndClose(500, null, includeBody: !isHead, nowMs);
                return input.Length;
            }
            if (response is null)
            {
                _host.OnHandshakeRejected(426, HandshakeRejection.NotUpgrade);
            }
            RespondAndClose(response?.Status ?? 426, response, includeBody: !isHead, nowMs);
            return input.Length;
        }

        var answer = UpgradeAnswer.Decide(new SessionUpgradeHost(_host), input, head, kind, handshakeStatus, _settings.Compression);
        if (!answer.IsAccepted)
        {
            RespondAndClose(answer.Status, null, includeBody: true, nowMs);
            return input.Length;
        }
        Span<byte> accept = stackalloc byte[AcceptKey.Length];
        AcceptKey.Compute(key.Of(input), accept);
        AdoptDeflate(answer);
        _output.WriteHttp(new SwitchingProtocols(accept, answer.Decision.Subprotocol, answer.Extensions),
            static (writer, state) => HttpResponseWriter.WriteSwitchingProtocols(writer, state.Accept, state.Subprotocol, state.Extensions), final: false);
        Open(nowMs);
        return head.Length;
    }

    /// <summary>
    /// Starts serving a connection whose handshake another HTTP server completed (a hand-off: the engine decided it with
    /// <see cref="UpgradeAnswer.Decide"/>, the other server sent the response). The session is open with what was agreed;
    /// <see cref="Open"/> reports it once the transport can carry what <c>OnOpen</c> sends.
    /// </summary>
    public void StartOpen(ISessionHost host, SessionSettings settings, in UpgradeAnswer answer, long nowMs)
    {
        Attach(host, settings, nowMs);
        AdoptDeflate(answer);
    }

    /// <summary>What both starts share: the connection's host and settings, in the handshake state.</summary>
    private void Attach(ISessionHost host, SessionSettings settings, long nowMs)
    {
        _host = host;
        _settings = settings;
        _state = (byte)SessionState.Handshake;
        _lastReceive = ClockStamp.Of(nowMs);
    }

    /// <summary>The handshake is done: frames may flow. Arms the heartbeat and idle deadlines and reports <c>OnOpen</c>.</summary>
    public void Open(long nowMs)
    {
        // The first ping's time replaces the handshake's deadline before the state opens: a Close from another thread
        // (only possible once open) arms the close deadline in the same field, and must not be overwritten.
        int firstPing = _settings.HeartbeatIntervalMs > 0 ? ClockStamp.Early(nowMs + _settings.HeartbeatIntervalMs) : ClockStamp.None;
        Volatile.Write(ref _deadlineOrPing, firstPing);
        Volatile.Write(ref _state, (byte)SessionState.Open);
        long next = NextDeadline(nowMs);
        if (next != 0)
        {
            _settings.Wheel.Schedule(this, next);
        }
        else
        {
            _settings.Wheel.Cancel(this);
        }
        _host.OnOpen();
    }

    private void RespondAndClose(int status, HttpResponse? response, bool includeBody, long nowMs)
    {
        _output.WriteHttp(new ErrorResponse(status, response, includeBody), static (writer, state) =>
        {
            if (state.Response is { } r)
            {
                HttpResponseWriter.WriteResponse(writer, r.Status, r.ContentType, r.Body.Span, r.Headers, state.IncludeBody);
            }
            else
            {
                ReadOnlySpan<byte> body = System.Text.Encoding.ASCII.GetBytes(HttpResponseWriter.ReasonPhrase(state.Status) + "\n");
                HttpResponseWriter.WriteResponse(writer, state.Status, "text/plain; charset=utf-8", body, null, state.IncludeBody);
            }
        }, final: true);
        Volatile.Write(ref _state, (byte)SessionState.Closed);
        ArmCloseDeadline(nowMs);
    }

    private readonly ref struct SwitchingProtocols(ReadOnlySpan<byte> accept, string? subprotocol, string? extensions)
    {
        public readonly ReadOnlySpan<byte> Accept = accept;
        public readonly string? Subprotocol = subprotocol;
        public readonly string? Extensions = extensions;
    }

    private readonly record struct ErrorResponse(int Status, HttpResponse? Response, bool IncludeBody);
}
