using Conformance.Fuzzing;
using Conformance.Running;

namespace Conformance.Reporting;

/// <summary>
/// What RFC 6455 says about each group of cases, and which agent it supports when two agents are graded differently.
/// </summary>
public static class RfcNotes
{
    /// <summary>The RFC rule behind a case, by id prefix (most specific first).</summary>
    public static string Clause(string id)
    {
        var parts = id.Split('.').Select(int.Parse).ToArray();
        int section = parts[0], sub = parts.Length > 1 ? parts[1] : 0;
        return section switch
        {
            1 => "RFC 6455 §5.2: payload lengths in the 7-bit, 16-bit and 64-bit forms are all legal; the message must be delivered intact.",
            2 when sub == 5 => "RFC 6455 §5.5: all control frames MUST have a payload length of 125 bytes or less; a larger one is a protocol error (§7.1.7, 1002).",
            2 when sub is 7 or 8 or 9 => "RFC 6455 §5.5.3: a Pong MAY be sent unsolicited and no response is expected.",
            2 => "RFC 6455 §5.5.2: on a Ping the endpoint MUST send a Pong with identical application data (Autobahn also expects one Pong per Ping).",
            3 => "RFC 6455 §5.2: RSV1-3 MUST be 0 unless a negotiated extension defines them; otherwise the receiver MUST Fail the WebSocket Connection (1002).",
            4 => "RFC 6455 §5.2: if an unknown opcode is received, the receiving endpoint MUST Fail the WebSocket Connection (1002).",
            5 when sub is 1 or 2 => "RFC 6455 §5.4: control frames MUST NOT be fragmented; receiving one is a protocol error (1002).",
            5 when sub is >= 9 and <= 18 => "RFC 6455 §5.4: a message is a first frame with a non-zero opcode then continuation frames; a continuation with nothing to continue, or a new data frame inside a message, is a protocol error (1002).",
            5 => "RFC 6455 §5.4: control frames MAY be injected in the middle of a fragmented message and the endpoint MUST handle them; fragments are delivered in order.",
            6 when sub == 4 => "RFC 6455 §8.1: invalid UTF-8 in a text message MUST fail the connection (1007); failing as soon as the bytes can no longer be valid is what Autobahn rates OK, failing at message end NON-STRICT.",
            6 => "RFC 6455 §8.1 and §5.6: text payloads are UTF-8 (RFC 3629); valid text, however fragmented, is delivered intact, and invalid UTF-8 MUST Fail the WebSocket Connection (1007).",
            7 when sub == 1 => "RFC 6455 §5.5.1 and §7.1.1: after a Close nothing more is processed; the receiver replies with a Close and the server closes the TCP connection first.",
            7 when sub == 3 => "RFC 6455 §5.5.1: a Close body is empty or a 2-byte code plus a UTF-8 reason, within the 125-byte control frame limit; a 1-byte body or a longer frame is a protocol error (1002).",
            7 when sub == 5 => "RFC 6455 §5.5.1 and §8.1: the close reason MUST be valid UTF-8; otherwise fail the connection (1002 or 1007).",
            7 when sub == 7 => "RFC 6455 §7.4.1-7.4.2: 1000-1003, 1007-1011 and 3000-4999 are valid received close codes; reply with Close (the same code or 1000) and close cleanly.",
            7 when sub == 9 => "RFC 6455 §7.4.1-7.4.2: 0-999, 1004-1006 and 1016-2999 are not valid in a received Close (reserved or never sent on the wire); fail the connection (1002).",
            7 => "RFC 6455 §7.4.2: codes above 4999 are not defined; the spec leaves the reaction open (informational).",
            9 => "RFC 6455 §5.4 and §10.4: the spec sets no message size limit (an endpoint MAY refuse with 1009); these cases measure echo of large and fragmented messages.",
            10 => "RFC 6455 §5.4: a message may be split into any number of fragments; the receiver reassembles it.",
            _ => "RFC 6455.",
        };
    }

    /// <summary>Whether two agents were graded differently on a case (the case or its close).</summary>
    public static bool Differ(CaseResult a, CaseResult b) => a.Behavior != b.Behavior || a.BehaviorClose != b.BehaviorClose;

    /// <summary>A short note on which of two differently graded agents the RFC supports.</summary>
    public static string Compare(CaseResult a, CaseResult b)
    {
        if (a.Behavior == Behavior.Informational && b.Behavior == Behavior.Informational)
        {
            return $"Informational only, the spec leaves this open; both conform. {Clause(a.Id)}";
        }
        int ra = Rank(a), rb = Rank(b);
        if (ra == rb)
        {
            return $"Graded differently but equally far from Autobahn's expectation ({Describe(a)} vs {Describe(b)}). {Clause(a.Id)}";
        }
        var (better, worse) = ra > rb ? (a, b) : (b, a);
        var verdict = better.Passed
            ? $"RFC supports {better.Agent}"
            : Behavior.IsPass(better.Behavior) || better.Behavior == Behavior.NonStrict
                ? $"{better.Agent} is closer to the RFC"
                : $"Neither meets the expectation; {better.Agent} is closer";
        return $"{verdict} ({Describe(better)} vs {worse.Agent} {Describe(worse)}). {Clause(a.Id)}";
    }

    private static string Describe(CaseResult r) => r.BehaviorClose == Behavior.Ok || r.BehaviorClose == r.Behavior
        ? r.Behavior
        : $"{r.Behavior}, close {r.BehaviorClose}";

    /// <summary>Orders grades: the case outcome first, then its close.</summary>
    private static int Rank(CaseResult r) => Score(r.Behavior) * 10 + Score(r.BehaviorClose);

    private static int Score(string behavior) => behavior switch
    {
        Behavior.Ok or Behavior.Informational => 5,
        Behavior.NonStrict => 4,
        Behavior.FailedByClient => 3,
        Behavior.WrongCode => 2,
        Behavior.Unclean => 1,
        _ => 0,
    };
}
