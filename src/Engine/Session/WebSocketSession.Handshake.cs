using System.Buffers;
using Engine.Protocol;

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
        switch (kind)
        {
            case HandshakeKind.PlainHttp:
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
            case HandshakeKind.Rejected:
                _host.OnHandshakeRejected(handshakeStatus, HandshakeRejection.InvalidHandshake);
                RespondAndClose(handshakeStatus, null, includeBody: true, nowMs);
                return input.Length;
        }

        UpgradeDecision decision;
        try
        {
            decision = _host.OnUpgrade(input, head);
        }
        catch (Exception)
        {
            _host.OnHandshakeRejected(500, HandshakeRejection.HandlerError);
            RespondAndClose(500, null, includeBody: true, nowMs);
            return input.Length;
        }
        // §4.2.2: the selected subprotocol must be one the client offered; choosing another is an application bug.
        if (decision.IsAccepted && decision.Subprotocol is not null && !OffersSubprotocol(input, head, decision.Subprotocol))
        {
            _host.OnHandshakeRejected(500, HandshakeRejection.HandlerError);
            RespondAndClose(500, null, includeBody: true, nowMs);
            return input.Length;
        }
        if (!decision.IsAccepted)
        {
            _host.OnHandshakeRejected(decision.Status, decision.IsServerFull ? HandshakeRejection.MaxConnections : HandshakeRejection.Application);
            RespondAndClose(decision.Status, null, includeBody: true, nowMs);
            return input.Length;
        }

        Span<byte> accept = stackalloc byte[AcceptKey.Length];
        AcceptKey.Compute(key.Of(input), accept);
        string? extensions = NegotiateExtensions(input, head);
        _output.WriteHttp(new SwitchingProtocols(accept, decision.Subprotocol, extensions),
            static (writer, state) => HttpResponseWriter.WriteSwitchingProtocols(writer, state.Accept, state.Subprotocol, state.Extensions), final: false);

        Volatile.Write(ref _state, (int)SessionState.Open);
        _handshakeDeadline = 0;
        if (_settings.HeartbeatIntervalMs > 0)
        {
            _nextPingAt = nowMs + _settings.HeartbeatIntervalMs;
        }
        long next = NextDeadline();
        if (next != 0)
        {
            _wheel.Schedule(this, next);
        }
        else
        {
            _wheel.Cancel(this);
        }
        _host.OnOpen();
        return head.Length;
    }

    private static bool OffersSubprotocol(ReadOnlySpan<byte> buffer, in HttpRequestHead head, string subprotocol)
    {
        Span<byte> name = stackalloc byte[Math.Min(subprotocol.Length, 256)];
        if (subprotocol.Length > name.Length || System.Text.Ascii.FromUtf16(subprotocol, name, out _) != OperationStatus.Done)
        {
            return false;
        }
        for (int i = 0; i < head.HeaderCount; i++)
        {
            HeaderField field = head.Headers[i];
            if (System.Text.Ascii.EqualsIgnoreCase(field.Name.Of(buffer), "Sec-WebSocket-Protocol"u8)
                && ListContainsExact(field.Value.Of(buffer), name))
            {
                return true;
            }
        }
        return false;
    }

    // Subprotocol names are case-sensitive tokens (RFC 6455 §4.1), unlike the header-list tokens matched elsewhere.
    private static bool ListContainsExact(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        foreach (Range range in list.Split((byte)','))
        {
            if (HttpTokens.TrimWhitespace(list[range]).SequenceEqual(token))
            {
                return true;
            }
        }
        return false;
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
        Volatile.Write(ref _state, (int)SessionState.Closed);
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
