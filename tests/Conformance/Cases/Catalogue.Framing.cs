using Conformance.Fuzzing;
using static Conformance.Cases.Event;

namespace Conformance.Cases;

// Sections 1 (framing), 2 (pings/pongs), 3 (reserved bits), 4 (opcodes) and 5 (fragmentation).
public static partial class Catalogue
{
    private static void AddFraming(List<CaseDefinition> cases)
    {
        (int Length, double Kill, int? Chop)[] sizes = [(0, 1, null), (125, 1, null), (126, 1, null), (127, 1, null), (128, 1, null), (65535, 10, null), (65536, 10, null), (65536, 10, 997)];
        for (int i = 0; i < sizes.Length; i++)
        {
            var (length, kill, chop) = sizes[i];
            foreach (var binary in new[] { false, true })
            {
                var kind = binary ? "binary" : "text";
                var payload = Repeat(binary ? (byte)0xFE : (byte)'*', length);
                var description = length == 0
                    ? $"Send {kind} message with payload 0."
                    : $"Send {kind} message message with payload of length {length}." + (chop is { } c ? $" Sent out data in chops of {c} octets." : "");
                var expectation = length == 0
                    ? $"Receive echo'ed {kind} message (with empty payload). Clean close with normal code."
                    : $"Receive echo'ed {kind} message (with payload as sent). Clean close with normal code.";
                cases.Add(Def($"1.{(binary ? 2 : 1)}.{i + 1}", description, expectation, c =>
                {
                    c.Expect(Behavior.Ok, Message(payload, binary));
                    c.ExpectedClose = CleanNormal;
                    c.P.SendFrame(binary ? 2 : 1, payload, chopSize: chop);
                    c.P.KillAfter(kill);
                }));
            }
        }
    }

    private static void AddPingPong(List<CaseDefinition> cases)
    {
        void Ping(string id, string description, byte[] payload, int? chop = null) =>
            cases.Add(Def(id, description, id == "2.1"
                    ? "Pong (with empty payload) is sent in reply to Ping. Clean close with normal code."
                    : chop is null
                        ? "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code."
                        : "Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. Clean close with normal code.",
                c =>
                {
                    c.Expect(Behavior.Ok, Pong(payload));
                    c.ExpectedClose = CleanNormal;
                    c.P.SendFrame(9, payload, chopSize: chop);
                    c.P.CloseAfter(chop is null ? 1 : 2);
                }));

        Ping("2.1", "Send ping without payload.", []);
        Ping("2.2", "Send ping with small text payload.", Utf8("Hello, world!"));
        Ping("2.3", "Send ping with small binary (non UTF-8) payload.", Hex("00FFFEFDFCFB00FF"));
        Ping("2.4", "Send ping with binary payload of 125 octets.", Repeat(0xFE, 125));
        cases.Add(Def("2.5", "Send ping with binary payload of 126 octets.",
            "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets..",
            c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = ServerFails();
                c.P.SendFrame(9, Repeat(0xFE, 126));
                c.P.KillAfter(1);
            }));
        Ping("2.6", "Send ping with binary payload of 125 octets, send in octet-wise chops.", Repeat(0xFE, 125), chop: 1);

        cases.Add(Def("2.7", "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.", "Nothing.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendFrame(10);
            c.P.CloseAfter(1);
        }));
        cases.Add(Def("2.8", "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.", "Nothing.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendFrame(10, "unsolicited pong payload");
            c.P.CloseAfter(1);
        }));
        cases.Add(Def("2.9", "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
            "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.", c =>
            {
                c.Expect(Behavior.Ok, Pong("ping payload"));
                c.ExpectedClose = CleanNormal;
                c.P.SendFrame(10, "unsolicited pong payload");
                c.P.SendFrame(9, "ping payload");
                c.P.CloseAfter(1);
            }));

        void TenPings(string id, string description, int? chop) =>
            cases.Add(Def(id, description,
                "Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.",
                c =>
                {
                    var pongs = new List<Event>();
                    for (int i = 0; i < 10; i++)
                    {
                        pongs.Add(Pong($"payload-{i}"));
                        c.P.SendFrame(9, $"payload-{i}", chopSize: chop);
                    }
                    c.Expect(Behavior.Ok, pongs.ToArray());
                    c.ExpectedClose = CleanNormal;
                    c.P.CloseAfter(3);
                }));
        TenPings("2.10", "Send 10 Pings with payload.", null);
        TenPings("2.11", "Send 10 Pings with payload. Send out octets in octet-wise chops.", 1);
    }

    private static void AddReservedBits(List<CaseDefinition> cases)
    {
        const string failNow = "The connection is failed immediately, since RSV must be 0.";
        const string echoThenFail = "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.";

        cases.Add(Def("3.1", "Send small text message with <b>RSV = 1</b>.",
            "The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated.", c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = ServerFails();
                c.P.SendFrame(1, "Hello, world!", rsv: 1);
                c.P.KillAfter(1);
            }));

        void EchoThenBadRsv(string id, string description, int rsv, bool sync, int? chop) =>
            cases.Add(Def(id, description, echoThenFail, c =>
            {
                c.Expect(Behavior.Ok, Message("Hello, world!"));
                c.Expect(Behavior.NonStrict);
                c.ExpectedClose = ServerFails();
                c.P.SendFrame(1, "Hello, world!", sync: sync, chopSize: chop);
                c.P.SendFrame(1, "Hello, world!", rsv: rsv, sync: sync, chopSize: chop);
                c.P.SendFrame(9, [], sync: sync, chopSize: chop);
                c.P.KillAfter(1);
            }));
        EchoThenBadRsv("3.2", "Send small text message, then send again with <b>RSV = 2</b>, then send Ping.", 2, false, null);
        EchoThenBadRsv("3.3", "Send small text message, then send again with <b>RSV = 3</b>, then send Ping. Octets are sent in frame-wise chops. Octets are sent in octet-wise chops.", 3, true, null);
        EchoThenBadRsv("3.4", "Send small text message, then send again with <b>RSV = 4</b>, then send Ping. Octets are sent in octet-wise chops.", 4, false, 1);

        cases.Add(Def("3.5", "Send small binary message with <b>RSV = 5</b>.", failNow, c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = ServerFails();
            c.P.SendFrame(2, Hex("00FFFEFDFCFB00FF"), rsv: 5);
            c.P.KillAfter(1);
        }));
        cases.Add(Def("3.6", "Send Ping with <b>RSV = 6</b>.", failNow, c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = ServerFails();
            // Autobahn's case3_6.py actually sends a binary frame here, despite its description; we send what it sends.
            c.P.SendFrame(2, "Hello, world!", rsv: 6);
            c.P.KillAfter(1);
        }));
        cases.Add(Def("3.7", "Send Close with <b>RSV = 7</b>.", failNow, c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = ServerFails();
            c.P.SendFrame(8, [], rsv: 7);
            c.P.KillAfter(1);
        }));
    }

    private static void AddOpcodes(List<CaseDefinition> cases)
    {
        foreach (var (group, kind, opcodes) in new[] { (1, "non-control", new[] { 3, 4, 5, 6, 7 }), (2, "control", new[] { 11, 12, 13, 14, 15 }) })
        {
            for (int i = 0; i < 5; i++)
            {
                int opcode = opcodes[i];
                bool withPayload = i is 1 or 3 or 4;
                bool echoFirst = i >= 2;
                var id = $"4.{group}.{i + 1}";
                var frame = $"frame with reserved {kind} <b>Opcode = {opcode}</b>{(withPayload ? " and non-empty payload" : "")}";
                if (!echoFirst)
                {
                    cases.Add(Def(id, $"Send {frame}.", "The connection is failed immediately.", c =>
                    {
                        c.Expect(Behavior.Ok);
                        c.ExpectedClose = ServerFails();
                        c.P.SendFrame(opcode, withPayload ? Utf8("reserved opcode payload") : []);
                        c.P.KillAfter(1);
                    }));
                }
                else
                {
                    cases.Add(Def(id, $"Send small text message, then send {frame}, then send Ping.",
                        "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.", c =>
                        {
                            c.Expect(Behavior.Ok, Message("Hello, world!"));
                            c.Expect(Behavior.NonStrict);
                            c.ExpectedClose = ServerFails();
                            c.P.SendFrame(1, "Hello, world!");
                            c.P.SendFrame(opcode, withPayload ? Utf8("Hello, world!") : []);
                            c.P.SendFrame(9);
                            c.P.KillAfter(1);
                        }));
                }
            }
        }
    }

    private static void AddFragmentation(List<CaseDefinition> cases)
    {
        const string noContinue = "The connection is failed immediately, since there is no message to continue.";

        foreach (var (id, opcode, name) in new[] { ("5.1", 9, "Ping"), ("5.2", 10, "Pong") })
        {
            cases.Add(Def(id, $"Send {name} fragmented into 2 fragments.", "Connection is failed immediately, since control message MUST NOT be fragmented.", c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = ServerFails();
                c.P.SendFrame(opcode, "fragment1", fin: false);
                c.P.SendFrame(0, "fragment2", fin: true);
                c.P.KillAfter(1);
            }));
        }

        foreach (var (id, suffix, sync, chop) in new[] { ("5.3", "", false, (int?)null), ("5.4", ", octets are sent in frame-wise chops", true, null), ("5.5", ", octets are sent in octet-wise chops", false, 1) })
        {
            cases.Add(Def(id, $"Send text Message fragmented into 2 fragments{suffix}.", "Message is processed and echo'ed back to us.", c =>
            {
                c.Expect(Behavior.Ok, Message("fragment1fragment2"));
                c.ExpectedClose = CleanNormal;
                c.P.SendFrame(1, "fragment1", fin: false, sync: sync, chopSize: chop);
                c.P.SendFrame(0, "fragment2", fin: true, sync: sync, chopSize: chop);
                c.P.CloseAfter(1);
            }));
        }

        foreach (var (id, suffix, sync, chop) in new[] { ("5.6", "", false, (int?)null), ("5.7", " Octets are sent in frame-wise chops.", true, null), ("5.8", " Octets are sent in octet-wise chops.", false, 1) })
        {
            cases.Add(Def(id, $"Send text Message fragmented into 2 fragments, one ping with payload in-between.{suffix}", "A pong is received, then the message is echo'ed back to us.", c =>
            {
                c.Expect(Behavior.Ok, Pong("ping payload"), Message("fragment1fragment2"));
                c.ExpectedClose = CleanNormal;
                c.P.SendFrame(1, "fragment1", fin: false, sync: sync, chopSize: chop);
                c.P.SendFrame(9, "ping payload", sync: sync, chopSize: chop);
                c.P.SendFrame(0, "fragment2", fin: true, sync: sync, chopSize: chop);
                c.P.CloseAfter(1);
            }));
        }

        var chops = new[] { ("sent in one chop", false, (int?)null), ("sent in per-frame chops", true, null), ("sent in octet-wise chops", false, 1) };
        for (int i = 0; i < 3; i++)
        {
            var (how, sync, chop) = chops[i];
            foreach (var (baseIndex, fin) in new[] { (9, true), (12, false) })
            {
                cases.Add(Def($"5.{baseIndex + i}", $"Send unfragmented Text Message after Continuation Frame with FIN = {(fin ? "true" : "false")}, where there is nothing to continue, {how}.", noContinue, c =>
                {
                    c.Expect(Behavior.Ok);
                    c.ExpectedClose = ServerFails();
                    c.P.SendFrame(0, "non-continuation payload", fin: fin, sync: sync, chopSize: chop);
                    c.P.SendFrame(1, "Hello, world!", fin: true, sync: sync, chopSize: chop);
                    c.P.KillAfter(1);
                }));
            }
        }

        cases.Add(Def("5.15", "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.", noContinue, c =>
        {
            c.Expect(Behavior.Ok, Message("fragment1fragment2"));
            c.Expect(Behavior.NonStrict);
            c.ExpectedClose = ServerFails();
            c.P.SendFrame(1, "fragment1", fin: false);
            c.P.SendFrame(0, "fragment2", fin: true);
            c.P.SendFrame(0, "fragment3", fin: false);
            c.P.SendFrame(1, "fragment4", fin: true);
            c.P.KillAfter(1);
        }));

        foreach (var (id, fin) in new[] { ("5.16", false), ("5.17", true) })
        {
            cases.Add(Def(id, $"Repeated 2x: Continuation Frame with FIN = {(fin ? "true" : "false")} (where there is nothing to continue), then text Message fragmented into 2 fragments.", noContinue, c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = ServerFails();
                for (int i = 0; i < 2; i++)
                {
                    c.P.SendFrame(0, "fragment1", fin: fin);
                    c.P.SendFrame(1, "fragment2", fin: false);
                    c.P.SendFrame(0, "fragment3", fin: true);
                }
                c.P.KillAfter(1);
            }));
        }

        cases.Add(Def("5.18", "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.",
            "The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.", c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = ServerFails();
                c.P.SendFrame(1, "fragment1", fin: false);
                c.P.SendFrame(1, "fragment2", fin: true);
                c.P.KillAfter(1);
            }));

        foreach (var (id, sync) in new[] { ("5.19", false), ("5.20", true) })
        {
            var description = sync
                ? "Same as Case 5.19, but send all frames with <b>SYNC = True</b>. Note, this does not change the octets sent in any way, only how the stream is chopped when sending."
                : "A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.";
            cases.Add(Def(id, description,
                "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.", c =>
                {
                    c.Expect(Behavior.Ok, Pong("pongme 1!"), Pong("pongme 2!"), Message("fragment1fragment2fragment3fragment4fragment5"));
                    c.ExpectedClose = CleanNormal;
                    c.P.SendFrame(1, "fragment1", fin: false, sync: sync);
                    c.P.SendFrame(0, "fragment2", fin: false, sync: sync);
                    c.P.SendFrame(9, "pongme 1!", sync: sync);
                    c.P.ContinueLater(1, () =>
                    {
                        c.P.SendFrame(0, "fragment3", fin: false, sync: sync);
                        c.P.SendFrame(0, "fragment4", fin: false, sync: sync);
                        c.P.SendFrame(9, "pongme 2!", sync: sync);
                        c.P.SendFrame(0, "fragment5", fin: true, sync: sync);
                        c.P.CloseAfter(1);
                    });
                }));
        }
    }
}
