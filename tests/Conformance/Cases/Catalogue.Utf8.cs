using Conformance.Fuzzing;
using static Conformance.Cases.Event;

namespace Conformance.Cases;

// Section 6: UTF-8 handling, including the fail-fast cases (6.4.x) and the generated sequence groups 6.5 to 6.23.
public static partial class Catalogue
{
    private static readonly byte[] Kosme = Hex("CEBAE1BDB9CF83CEBCCEB5");

    /// <summary>κόσμε, then U+D800 encoded (a surrogate, invalid in UTF-8), then "edited" (Autobahn 6.3.1, 7.5.1).</summary>
    private static readonly byte[] InvalidKosme = Hex("CEBAE1BDB9CF83CEBCCEB5EDA080656469746564");

    private static void AddUtf8(List<CaseDefinition> cases)
    {
        cases.Add(Def("6.1.1", "Send text message of length 0.", "A message is echo'ed back to us (with empty payload).", c =>
        {
            c.Expect(Behavior.Ok, Message(""));
            c.ExpectedClose = CleanNormal;
            c.P.SendFrame(1, []);
            c.P.CloseAfter(1);
        }));
        cases.Add(Def("6.1.2", "Send fragmented text message, 3 fragments each of length 0.", "A message is echo'ed back to us (with empty payload).", c =>
        {
            c.Expect(Behavior.Ok, Message(""));
            c.ExpectedClose = CleanNormal;
            c.P.SendFrame(1, [], fin: false);
            c.P.SendFrame(0, [], fin: false);
            c.P.SendFrame(0, [], fin: true);
            c.P.CloseAfter(1);
        }));
        cases.Add(Def("6.1.3", "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
            "A message is echo'ed back to us (with payload = payload of middle fragment).", c =>
            {
                c.Expect(Behavior.Ok, Message("middle frame payload"));
                c.ExpectedClose = CleanNormal;
                c.P.SendFrame(1, [], fin: false);
                c.P.SendFrame(0, "middle frame payload", fin: false);
                c.P.SendFrame(0, [], fin: true);
                c.P.CloseAfter(1);
            }));

        var hello = Utf8("Hello-µ@ßöäüàá-UTF-8!!");
        var part1 = Utf8("Hello-µ@ßöä");
        var part2 = Utf8("üàá-UTF-8!!");
        const string echoed = "The message is echo'ed back to us.";
        cases.Add(Def("6.2.1", $"Send a valid UTF-8 text message in one fragment.<br><br>MESSAGE:<br>Hello-µ@ßöäüàá-UTF-8!!<br>{HexOf(hello)}", echoed, c =>
        {
            c.Expect(Behavior.Ok, Message(hello));
            c.ExpectedClose = CleanNormal;
            c.P.SendFrame(1, hello);
            c.P.CloseAfter(1);
        }));
        cases.Add(Def("6.2.2", $"Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.<br><br>MESSAGE FRAGMENT 1:<br>Hello-µ@ßöä<br>{HexOf(part1)}<br><br>MESSAGE FRAGMENT 2:<br>üàá-UTF-8!!<br>{HexOf(part2)}", echoed, c =>
        {
            c.Expect(Behavior.Ok, Message(hello));
            c.ExpectedClose = CleanNormal;
            c.P.SendFrame(1, part1, fin: false);
            c.P.SendFrame(0, part2, fin: true);
            c.P.CloseAfter(1);
        }));
        foreach (var (id, payload, text) in new[] { ("6.2.3", hello, "Hello-µ@ßöäüàá-UTF-8!!"), ("6.2.4", Kosme, "κόσμε") })
        {
            cases.Add(Def(id, $"Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.<br><br>MESSAGE:<br>{text}<br>{HexOf(payload)}", echoed, c =>
            {
                c.Expect(Behavior.Ok, Message(payload));
                c.ExpectedClose = CleanNormal;
                c.P.SendMessage(payload, binary: false, fragmentSize: 1);
                c.P.CloseAfter(1);
            }));
        }

        const string failedNow = "The connection is failed immediately, since the payload is not valid UTF-8.";
        cases.Add(Def("6.3.1", $"Send invalid UTF-8 text message unfragmented.<br><br>MESSAGE:<br>{HexOf(InvalidKosme)}", failedNow, c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = InvalidUtf8Close;
            c.P.SendFrame(1, InvalidKosme);
            c.P.KillAfter(1);
        }));
        cases.Add(Def("6.3.2", $"Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.<br><br>MESSAGE:<br>{HexOf(InvalidKosme)}", failedNow, c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = InvalidUtf8Close;
            c.P.SendMessage(InvalidKosme, binary: false, fragmentSize: 1);
            c.P.KillAfter(1);
        }));

        AddFailFast(cases);

        int group = 5;
        foreach (var (title, sequences) in Utf8Sequences.All())
        {
            int index = 1;
            foreach (var (valid, payload) in sequences)
            {
                var description = (valid
                    ? "Send a text message with payload which is valid UTF-8 in one fragment."
                    : "Send a text message with payload which is not valid UTF-8 in one fragment.") + $"<br><br>Payload: 0x{HexOf(payload)}";
                var expectation = valid ? "The message is echo'ed back to us." : "The connection is failed immediately, since the payload is not valid UTF-8.";
                cases.Add(Def($"6.{group}.{index}", description, expectation, c =>
                {
                    if (valid)
                    {
                        c.Expect(Behavior.Ok, Message(payload));
                        c.ExpectedClose = CleanNormal;
                    }
                    else
                    {
                        c.Expect(Behavior.Ok);
                        c.ExpectedClose = InvalidUtf8Close;
                    }
                    c.P.SendMessage(payload, binary: false);
                    c.P.KillAfter(0.5);
                }));
                index++;
            }
            SubCategories[$"6.{group}"] = title;
            group++;
        }
    }

    /// <summary>6.4.x: the server should fail the connection as soon as the payload can no longer be valid UTF-8.</summary>
    private static void AddFailFast(List<CaseDefinition> cases)
    {
        // PART2 is 0x110000 in the UTF-8 integer scheme: out of range, invalid exactly at its second octet (message octet 12).
        var p1 = Kosme;
        var p2 = Hex("F4908080");
        var p3 = Utf8("edited");
        var whole = p1.Concat(p2).Concat(p3).ToArray();
        string Parts(byte[] a, byte[] b, byte[] c) => $"<br><br>MESSAGE PARTS:<br>\nPART1 = {HexOf(a)}<br>\nPART2 = {HexOf(b)}<br>\nPART3 = {HexOf(c)}<br>\n";

        const string frameExpectation = "The first frame is accepted, we expect to timeout on the first wait. The 2nd frame should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.";
        const string chopExpectation = "The first chop is accepted, we expect to timeout on the first wait. The 2nd chop should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.";

        var split1 = (p1, p2, p3);
        var split2 = (whole[..12], whole[12..13], whole[13..]);

        cases.Add(FailFast("6.4.1",
            "Send invalid UTF-8 text message in 3 fragments (frames).\nFirst frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest.\nNote that PART1 and PART3 are valid UTF-8 in themselves, PART2 is a 0x110000 encoded as in the UTF-8 integer encoding scheme, but the codepoint is invalid (out of range)." + Parts(p1, p2, p3),
            frameExpectation, split1, streamed: false));
        cases.Add(FailFast("6.4.2",
            "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid." + Parts(split2.Item1, split2.Item2, split2.Item3),
            frameExpectation, split2, streamed: false));
        cases.Add(FailFast("6.4.3",
            "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame." + Parts(p1, p2, p3),
            chopExpectation, split1, streamed: true));
        cases.Add(FailFast("6.4.4",
            "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame." + Parts(split2.Item1, split2.Item2, split2.Item3),
            chopExpectation, split2, streamed: true));
    }

    private static CaseDefinition FailFast(string id, string description, string expectation, (byte[] A, byte[] B, byte[] C) parts, bool streamed) =>
        Def(id, description, expectation, c =>
        {
            c.Expect(Behavior.Ok, Timeout("A"));
            c.Expect(Behavior.NonStrict, Timeout("A"), Timeout("B"));
            c.ExpectedClose = InvalidUtf8Close;
            if (streamed)
            {
                c.P.BeginMessageFrame(parts.A.Length + parts.B.Length + parts.C.Length);
                c.P.SendMessageFrameData(parts.A);
            }
            else
            {
                c.P.SendFrame(1, parts.A, fin: false);
            }
            c.P.ContinueLater(1, () =>
            {
                if (c.P.State != FuzzingConnection.ConnectionState.Open)
                {
                    return;
                }
                c.Received.Add(Timeout("A"));
                if (streamed)
                {
                    c.P.SendMessageFrameData(parts.B);
                }
                else
                {
                    c.P.SendFrame(0, parts.B, fin: false);
                }
                c.P.ContinueLater(1, () =>
                {
                    if (c.P.State != FuzzingConnection.ConnectionState.Open)
                    {
                        return;
                    }
                    c.Received.Add(Timeout("B"));
                    if (streamed)
                    {
                        c.P.SendMessageFrameData(parts.C);
                    }
                    else
                    {
                        c.P.SendFrame(0, parts.C, fin: true);
                    }
                    c.P.KillAfter(1);
                }, "B");
            }, "A");
        });

    private static ExpectedClose InvalidUtf8Close => new(false, [Case.InvalidPayload], false, ClosedByWrongEndpointIsFatal: true);

    private static string HexOf(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    /// <summary>Titles of the generated 6.x subcategories (filled while building the catalogue).</summary>
    public static Dictionary<string, string> SubCategories { get; } = new();
}
