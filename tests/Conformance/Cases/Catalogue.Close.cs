using Conformance.Fuzzing;
using static Conformance.Cases.Event;

namespace Conformance.Cases;

// Section 7: close handling, close frame structure, valid (7.7.x) and invalid (7.9.x) close codes, informational 7.13.x.
public static partial class Catalogue
{
    /// <summary>A fuzzer-initiated close case: its own close goes out by hand, and a wrong close code fails the case.</summary>
    private static CaseDefinition CloseCase(string id, string description, string expectation, Action<Case> onOpen, Action<Case>? afterGrading = null, bool suppressClose = true) =>
        new(id, description, expectation, () => new Case(c =>
        {
            c.SuppressClose = suppressClose;
            onOpen(c);
        })
        {
            AfterGrading = afterGrading ?? Case.WrongCodeFailsCase,
        });

    private static void AddClose(List<CaseDefinition> cases)
    {
        var hello = Utf8("Hello World!");

        cases.Add(CloseCase("7.1.1", "Send a message followed by a close frame", "Echoed message followed by clean close with normal code.", c =>
        {
            c.Expect(Behavior.Ok, Message(hello));
            c.ExpectedClose = CleanNormal;
            c.P.SendFrame(1, hello);
            c.P.KillAfter(1);
        }, suppressClose: false)); // the close follows the echo (Autobahn's finishWhenDone)
        cases.Add(CloseCase("7.1.2", "Send two close frames", "Clean close with normal code. Second close frame ignored.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendClose(Case.Normal);
            c.P.SendFrame(8);
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.1.3", "Send a ping after close message", "Clean close with normal code, no pong.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendClose(Case.Normal);
            c.P.SendFrame(9);
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.1.4", "Send text message after sending a close frame.", "Clean close with normal code. Text message ignored.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendClose(Case.Normal);
            c.P.SendFrame(1, hello);
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.1.5", "Send message fragment1 followed by close then fragment", "Clean close with normal code.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendFrame(1, "fragment1", fin: false);
            c.P.SendClose(Case.Normal);
            c.P.SendFrame(0, "fragment2", fin: true);
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.1.6", "Send 256K message followed by close then a ping",
            "Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.",
            c =>
            {
                c.Expect(Behavior.Ok, Message(hello));
                c.Expect(Behavior.NonStrict);
                c.ExpectedClose = CleanNormal;
                c.P.SendFrame(1, Utf8("BAsd7&jh23"), payloadLength: 256 * 1024);
                c.P.SendFrame(1, hello);
                c.P.SendClose(Case.Normal);
                c.P.SendFrame(9);
                c.P.KillAfter(1);
            },
            c =>
            {
                c.Result = c.Behavior == Behavior.Ok ? "Text message was processed before close."
                    : c.Behavior == Behavior.NonStrict ? "Close was processed before text message could be returned." : c.Result;
                c.Behavior = Behavior.Informational;
                c.BehaviorClose = Behavior.Informational;
            }));

        cases.Add(CloseCase("7.3.1", "Send a close frame with payload length 0 (no close code, no close reason)", "Clean close with normal code.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendCloseFrame();
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.3.2", "Send a close frame with payload length 1", "Clean close with protocol error or drop TCP.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = new(true, [Case.ProtocolError], false);
            c.P.SendCloseFrame(null, Utf8("a"));
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.3.3", "Send a close frame with close code and no close reason", "Clean close with normal code.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendCloseFrame(Case.Normal);
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.3.4", "Send a close frame with close code and close reason", "Clean close with normal code.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendCloseFrame(Case.Normal, hello);
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.3.5", "Send a close frame with close code and close reason of maximum length (123)", "Clean close with normal code.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = CleanNormal;
            c.P.SendCloseFrame(Case.Normal, Repeat((byte)'*', 123));
            c.P.KillAfter(1);
        }));
        cases.Add(CloseCase("7.3.6", "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets",
            "Clean close with protocol error code or dropped TCP connection.", c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = new(true, [Case.ProtocolError], false);
                c.P.SendCloseFrame(Case.Normal, Repeat((byte)'*', 124));
                c.P.KillAfter(1);
            }));

        cases.Add(CloseCase("7.5.1", "Send a close frame with invalid UTF8 payload", "Clean close with protocol error or invalid utf8 code or dropped TCP.", c =>
        {
            c.Expect(Behavior.Ok);
            c.ExpectedClose = new(true, [Case.ProtocolError, Case.InvalidPayload], false);
            c.P.SendCloseFrame(Case.Normal, InvalidKosme);
            c.P.KillAfter(1);
        }));

        int[] valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
        for (int i = 0; i < valid.Length; i++)
        {
            int code = valid[i];
            cases.Add(CloseCase($"7.7.{i + 1}", $"Send close with valid close code {code}", "Clean close with normal or echoed code", c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = new(true, [Case.Normal, code], true);
                c.P.SendCloseFrame(code);
                c.P.KillAfter(1);
            }));
        }

        int[] invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
        for (int i = 0; i < invalid.Length; i++)
        {
            int code = invalid[i];
            cases.Add(CloseCase($"7.9.{i + 1}", $"Send close with invalid close code {code}", "Clean close with protocol error code or drop TCP", c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = new(true, [Case.ProtocolError], false);
                c.P.SendCloseFrame(code);
                c.P.KillAfter(1);
            }));
        }

        foreach (var (id, code) in new[] { ("7.13.1", 5000), ("7.13.2", 65535) })
        {
            cases.Add(CloseCase(id, $"Send close with close code {code}", "Actual events are undefined by the spec.", c =>
            {
                c.Expect(Behavior.Ok);
                c.ExpectedClose = new(true, [Case.Normal, code, Case.ProtocolError], false);
                c.P.SendCloseFrame(code);
                c.P.KillAfter(1);
            },
            c =>
            {
                c.Behavior = Behavior.Informational;
                c.BehaviorClose = Behavior.Informational;
                c.Result = "Actual events are undefined by the spec.";
            }));
        }
    }
}
