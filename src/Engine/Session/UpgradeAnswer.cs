using System.Buffers;
using Engine.Protocol;

namespace Engine.Session;

/// <summary>
/// The engine's answer to a valid opening handshake, made in one place for the engine's own transports and for
/// hand-offs from another HTTP server (ASP.NET Core): the application's decision, the subprotocol check, and the
/// permessage-deflate negotiation. Who writes the response (a 101 on the wire, or another server's 101 or 200) is the
/// caller's business.
/// </summary>
internal readonly struct UpgradeAnswer
{
    private UpgradeAnswer(int status, UpgradeDecision decision, string? extensions, DeflateParameters deflate)
    {
        Status = status;
        Decision = decision;
        Extensions = extensions;
        Deflate = deflate;
    }

    /// <summary>101 when accepted, else the HTTP status of the refusal.</summary>
    public int Status { get; }

    public bool IsAccepted => Status == 101;

    /// <summary>The application's decision (subprotocol, initial user state); default when it was never asked.</summary>
    public UpgradeDecision Decision { get; }

    /// <summary>The <c>Sec-WebSocket-Extensions</c> answer when permessage-deflate was agreed, else null.</summary>
    public string? Extensions { get; }

    /// <summary>What permessage-deflate agreed (meaningful only when <see cref="Extensions"/> is set).</summary>
    public DeflateParameters Deflate { get; }

    /// <summary>
    /// Decides a request <see cref="HandshakeValidator"/> judged (<paramref name="kind"/> <see cref="HandshakeKind.Upgrade"/>,
    /// or <see cref="HandshakeKind.Rejected"/> with <paramref name="rejectedStatus"/>): asks <paramref name="host"/>,
    /// checks the subprotocol it chose, negotiates deflate when <paramref name="compression"/> is on. A refusal is
    /// reported to <paramref name="host"/> (metrics) before it returns.
    /// </summary>
    public static UpgradeAnswer Decide<THost>(THost host, ReadOnlySpan<byte> input, in HttpRequestHead head, HandshakeKind kind,
        int rejectedStatus, SessionCompression? compression)
        where THost : IUpgradeHost
    {
        if (kind != HandshakeKind.Upgrade)
        {
            host.OnHandshakeRejected(rejectedStatus, HandshakeRejection.InvalidHandshake);
            return Refused(rejectedStatus);
        }
        UpgradeDecision decision;
        try
        {
            decision = host.OnUpgrade(input, head);
        }
        catch (Exception)
        {
            host.OnHandshakeRejected(500, HandshakeRejection.HandlerError);
            return Refused(500);
        }
        // §4.2.2: the selected subprotocol must be one the client offered; choosing another is an application bug.
        if (decision.IsAccepted && decision.Subprotocol is not null && !OffersSubprotocol(input, head, decision.Subprotocol))
        {
            host.OnHandshakeRejected(500, HandshakeRejection.HandlerError);
            return Refused(500);
        }
        if (!decision.IsAccepted)
        {
            host.OnHandshakeRejected(decision.Status, decision.IsServerFull ? HandshakeRejection.MaxConnections : HandshakeRejection.Application);
            return new UpgradeAnswer(decision.Status, decision, null, default);
        }
        DeflateParameters agreed = default;
        string? extensions = compression is null ? null : DeflateNegotiation.Negotiate(input, head, compression.Config, out agreed);
        return new UpgradeAnswer(101, decision, extensions, agreed);
    }

    public static UpgradeAnswer Refused(int status) => new(status, default, null, default);

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
}
