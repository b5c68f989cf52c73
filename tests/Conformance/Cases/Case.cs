using System.Text;
using Conformance.Fuzzing;

namespace Conformance.Cases;

/// <summary>One observed event, compared against the expected sequences (Autobahn's received list).</summary>
public sealed record Event(string Kind, byte[] Payload, bool Binary = false)
{
    public static Event Message(string text) => new("message", Encoding.UTF8.GetBytes(text));
    public static Event Message(byte[] payload, bool binary = false) => new("message", payload, binary);
    public static Event Pong(string text) => new("pong", Encoding.UTF8.GetBytes(text));
    public static Event Pong(byte[] payload) => new("pong", payload);
    public static Event Timeout(string tag) => new("timeout", Encoding.UTF8.GetBytes(tag));

    public bool Equals(Event? other) =>
        other is not null && Kind == other.Kind && Binary == other.Binary && Payload.AsSpan().SequenceEqual(other.Payload);

    public override int GetHashCode() => HashCode.Combine(Kind, Binary, Payload.Length);

    public override string ToString()
    {
        var shown = Kind == "timeout" || (!Binary && Payload.Length <= 64 && IsPrintable(Payload))
            ? $"'{Encoding.UTF8.GetString(Payload)}'"
            : Payload.Length <= 32 ? $"0x{Convert.ToHexString(Payload).ToLowerInvariant()}" : $"<{Payload.Length} octets>";
        return Kind == "message" ? $"({Kind}, {shown}, {(Binary ? "binary" : "text")})" : $"({Kind}, {shown})";
    }

    private static bool IsPrintable(byte[] bytes)
    {
        foreach (var b in bytes)
        {
            if (b < 0x20 || b > 0x7E)
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>What the closing of the connection must look like (Autobahn's expectedClose).</summary>
/// <param name="ClosedByMe">Whether the fuzzer (true) or the server (false) must start the closing handshake.</param>
/// <param name="CloseCodes">Close codes the server may send; the first is the one the fuzzer itself closes with.</param>
/// <param name="RequireClean">Whether a full closing handshake with the server dropping TCP is required.</param>
/// <param name="ClosedByWrongEndpointIsFatal">UTF-8 cases: if the wrong side closed, the server never noticed the bad payload.</param>
public sealed record ExpectedClose(bool ClosedByMe, int[] CloseCodes, bool RequireClean, bool ClosedByWrongEndpointIsFatal = false);

/// <summary>
/// A case run: the script (<see cref="OnOpen"/> and event hooks) plus Autobahn's grading in <see cref="OnConnectionLost"/>.
/// All hooks run under the connection's gate, one at a time.
/// </summary>
public class Case
{
    public const int Normal = 1000;
    public const int ProtocolError = 1002;
    public const int InvalidPayload = 1007;

    private readonly Action<Case> _onOpen;

    public Case(Action<Case> onOpen)
    {
        _onOpen = onOpen;
    }

    /// <summary>The connection playing this case (Autobahn's <c>self.p</c>).</summary>
    public FuzzingConnection P { get; internal set; } = null!;

    public List<Event> Received { get; } = new();

    /// <summary>Expected event sequences by grade, in the order they are tried.</summary>
    public List<(string Behavior, List<Event> Events)> Expected { get; } = new();

    public ExpectedClose ExpectedClose { get; set; } = new(true, [Normal], true);

    /// <summary>Cases that deliberately close badly set this so reaching the expected events does not start a close.</summary>
    public bool SuppressClose { get; set; }

    /// <summary>Performance cases report their duration (Autobahn's reportTime).</summary>
    public bool ReportTime { get; set; }

    public string Behavior { get; set; } = Fuzzing.Behavior.Failed;
    public string BehaviorClose { get; set; } = Fuzzing.Behavior.Failed;
    public string Result { get; set; } = "Actual events differ from any expected.";
    public string ResultClose { get; set; } = "TCP connection was dropped without close handshake";

    /// <summary>Extra grading after the standard one (e.g. 7.x turns a wrong close code into a failed case).</summary>
    public Action<Case>? AfterGrading { get; init; }

    /// <summary>The Sec-WebSocket-Extensions offer of the opening handshake (sections 12 and 13), or none.</summary>
    public string? ExtensionOffer { get; init; }

    /// <summary>Overrides message handling (the performance cases count lengths instead of recording payloads).</summary>
    public Action<Case, byte[], bool>? MessageHandler { get; init; }

    public void Expect(string behavior, params Event[] events) => Expected.Add((behavior, events.ToList()));

    public virtual void OnOpen() => _onOpen(this);

    public virtual void OnMessage(byte[] payload, bool binary)
    {
        if (MessageHandler is not null)
        {
            MessageHandler(this, payload, binary);
            return;
        }
        Received.Add(Event.Message(payload, binary));
        FinishWhenDone();
    }

    public virtual void OnPing(byte[] payload)
    {
        Received.Add(new Event("ping", payload));
        FinishWhenDone();
    }

    public virtual void OnPong(byte[] payload)
    {
        Received.Add(Event.Pong(payload));
        FinishWhenDone();
    }

    /// <summary>
    /// Autobahn's case.py grading: the events must equal one expected sequence; the close is graded on its own
    /// (right endpoint started it, clean when required, an allowed code, the server dropped TCP).
    /// </summary>
    public virtual void OnConnectionLost()
    {
        if (!P.ConnectionWasOpen)
        {
            Behavior = Fuzzing.Behavior.Failed;
            BehaviorClose = Fuzzing.Behavior.Failed;
            Result = $"The WebSocket opening handshake was never completed ({P.HandshakeError}).";
            ResultClose = Result;
            return;
        }

        if (MessageHandler is null)
        {
            foreach (var (behavior, events) in Expected)
            {
                if (Received.SequenceEqual(events))
                {
                    Behavior = behavior;
                    Result = "Actual events match at least one expected.";
                    break;
                }
            }
        }

        if (ExpectedClose.ClosedByMe != P.ClosedByMe)
        {
            BehaviorClose = Fuzzing.Behavior.Failed;
            ResultClose = "The connection was failed by the wrong endpoint";
        }
        else if (ExpectedClose.RequireClean && !P.WasClean)
        {
            BehaviorClose = Fuzzing.Behavior.Unclean;
            ResultClose = $"The spec requires the connection to be failed cleanly here ({P.WasNotCleanReason})";
        }
        else if (P.RemoteCloseCode is { } code && !ExpectedClose.CloseCodes.Contains(code))
        {
            BehaviorClose = Fuzzing.Behavior.WrongCode;
            ResultClose = $"The close code should have been {string.Join(",", ExpectedClose.CloseCodes)} or empty";
        }
        else if (P.DroppedByMe)
        {
            BehaviorClose = Fuzzing.Behavior.FailedByClient;
            ResultClose = "It is preferred that the server close the TCP connection";
        }
        else
        {
            BehaviorClose = Fuzzing.Behavior.Ok;
            ResultClose = "Connection was properly closed";
        }

        // For UTF-8 cases, closing by the wrong endpoint means the server never detected the invalid payload.
        if (ExpectedClose.ClosedByWrongEndpointIsFatal && ExpectedClose.ClosedByMe != P.ClosedByMe)
        {
            Behavior = Fuzzing.Behavior.Failed;
        }

        AfterGrading?.Invoke(this);
    }

    /// <summary>Once the events match every expected sequence, the fuzzer starts the close if it is expected to.</summary>
    protected void FinishWhenDone()
    {
        foreach (var (_, events) in Expected)
        {
            if (!Received.SequenceEqual(events))
            {
                return;
            }
        }
        if (ExpectedClose.ClosedByMe && !SuppressClose)
        {
            P.SendClose(ExpectedClose.CloseCodes[0]);
        }
    }

    /// <summary>7.x rule: a close with a code outside the allowed list fails the case itself, not only its close.</summary>
    public static void WrongCodeFailsCase(Case c)
    {
        if (c.BehaviorClose == Fuzzing.Behavior.WrongCode)
        {
            c.Behavior = Fuzzing.Behavior.Failed;
            c.Result = c.ResultClose;
        }
    }

    public string ReceivedSummary() => Received.Count == 0 ? "[]" : "[" + string.Join(", ", Received.Take(8)) + (Received.Count > 8 ? ", ..." : "") + "]";

    public string ExpectedSummary() => string.Join(" | ", Expected.Select(e => $"{e.Behavior}: [" + string.Join(", ", e.Events.Take(8)) + (e.Events.Count > 8 ? ", ..." : "") + "]"));
}
