using Conformance.Fuzzing;
using static Conformance.Cases.Event;

namespace Conformance.Cases;

// Section 9 (limits/performance, with the real suite's sizes: messages up to 16 MiB) and section 10 (misc).
public static partial class Catalogue
{
    private static string SizeName(int bytes) => bytes >= 1 << 20 ? $"{bytes >> 20}M" : $"{bytes >> 10}k";

    private static string SizeFormula(int bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} * 2**20 ({SizeName(bytes)})" : $"{bytes >> 10} * 2**10 ({SizeName(bytes)})";

    /// <summary>A section 9 case: one big message out, its echo's type and length checked, durations reported.</summary>
    private static CaseDefinition Perf(string id, string description, string expectation, bool binary, int length, int waitSeconds, Action<Case> send) =>
        new(id, description, expectation, () => new Case(c =>
        {
            c.P.CreateWireLog = false;
            c.ReportTime = true;
            c.Behavior = Behavior.Failed;
            c.ExpectedClose = CleanNormal;
            c.Result = $"Did not receive message within {waitSeconds} seconds.";
            send(c);
            c.P.CloseAfter(waitSeconds);
        })
        {
            MessageHandler = (c, payload, gotBinary) =>
            {
                var kind = binary ? "binary" : "text";
                if (gotBinary != binary)
                {
                    c.Result = $"Expected {kind} message with payload, but got {(gotBinary ? "binary" : "text")}.";
                }
                else if (payload.Length != length)
                {
                    c.Result = $"Expected {kind} message with payload of length {length}, but got {payload.Length}.";
                }
                else
                {
                    c.Behavior = Behavior.Ok;
                    c.Result = $"Received {kind} message of length {payload.Length}.";
                }
                c.P.CreateWireLog = true;
                c.P.SendClose(Case.Normal);
            },
        },
        CaseLoad.Exclusive)
        {
            HardLimit = TimeSpan.FromSeconds(waitSeconds + 15),
        };

    private static void AddLimits(List<CaseDefinition> cases)
    {
        var textPattern = Utf8("BAsd7&jh23");
        var binaryPattern = Hex("00FE23FAF0");

        int[] sizes = [64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20];
        foreach (var binary in new[] { false, true })
        {
            var kind = binary ? "binary" : "text";
            // Autobahn's own timeouts, which differ between the text and binary variants.
            int[] waits = binary ? [10, 10, 10, 10, 100, 100] : [10, 10, 100, 100, 100, 100];
            for (int i = 0; i < sizes.Length; i++)
            {
                int size = sizes[i];
                // 9.2.5 keeps Autobahn's description verbatim, typo included ("8 * 2**20 (16M)"), so reports diff cleanly.
                var formula = binary && i == 4 ? "8 * 2**20 (16M)" : SizeFormula(size);
                cases.Add(Perf($"9.{(binary ? 2 : 1)}.{i + 1}", $"Send {kind} message message with payload of length {formula}.",
                    $"Receive echo'ed {kind} message (with payload as sent).", binary, size, waits[i],
                    c => c.P.SendFrame(binary ? 2 : 1, binary ? binaryPattern : textPattern, payloadLength: size)));
            }
        }

        int[] fragments = [64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
        foreach (var binary in new[] { false, true })
        {
            var kind = binary ? "binary" : "text";
            const int total = 4 << 20;
            var payload = Repeat(binary ? (byte)0xFE : (byte)'*', total);
            for (int i = 0; i < fragments.Length; i++)
            {
                int fragment = fragments[i];
                var fragmentName = fragment < 1024 ? fragment.ToString() : SizeName(fragment);
                cases.Add(Perf($"9.{(binary ? 4 : 3)}.{i + 1}", $"Send fragmented {kind} message message with message payload of length 4 * 2**20 (4M). Sent out in fragments of {fragmentName}.",
                    $"Receive echo'ed {kind} message (with payload as sent).", binary, total, 100,
                    c => c.P.SendMessage(payload, binary, fragment)));
            }
        }

        int[] chops = [64, 128, 256, 512, 1024, 2048];
        foreach (var binary in new[] { false, true })
        {
            var kind = binary ? "binary" : "text";
            const int total = 1 << 20;
            for (int i = 0; i < chops.Length; i++)
            {
                int chop = chops[i];
                cases.Add(Perf($"9.{(binary ? 6 : 5)}.{i + 1}", $"Send {kind} message message with payload of length 1 * 2**20 (1M). Sent out data in chops of {chop} octets.",
                    $"Receive echo'ed {kind} message (with payload as sent).", binary, total, 1000,
                    c => c.P.SendFrame(binary ? 2 : 1, binary ? binaryPattern : textPattern, payloadLength: total, chopSize: chop)));
            }
        }

        (int Length, int Count, int Wait)[] roundTrips = [(0, 1000, 60), (16, 1000, 60), (64, 1000, 60), (256, 1000, 120), (1024, 1000, 240), (4096, 1000, 480)];
        foreach (var binary in new[] { false, true })
        {
            var kind = binary ? "binary" : "text";
            for (int i = 0; i < roundTrips.Length; i++)
            {
                var (length, count, wait) = roundTrips[i];
                cases.Add(RoundTrips($"9.{(binary ? 8 : 7)}.{i + 1}",
                    $"Send {count} {kind} messages of payload size {length} to measure implementation/network RTT (round trip time) / latency.",
                    $"Receive echo'ed {kind} messages (with payload as sent). Timeout case after {wait} secs.", binary, length, count, wait));
            }
        }
    }

    /// <summary>9.7.x/9.8.x: one message at a time, the next sent when the previous echo is back.</summary>
    private static CaseDefinition RoundTrips(string id, string description, string expectation, bool binary, int length, int count, int waitSeconds) =>
        new(id, description, expectation, () =>
        {
            // Per run, so the same case may run for two agents without sharing the count.
            int sent = 0;
            void SendOne(Case c)
            {
                c.P.SendFrame(binary ? 2 : 1, binary ? [0xFE] : "*"u8, payloadLength: length);
                sent++;
            }
            return new Case(c =>
            {
                c.P.CreateWireLog = false;
                c.ReportTime = true;
                c.Behavior = Behavior.Failed;
                c.ExpectedClose = CleanNormal;
                c.Result = $"Case did not finish within {waitSeconds} seconds.";
                c.P.CloseAfter(waitSeconds);
                SendOne(c);
            })
            {
                MessageHandler = (c, payload, gotBinary) =>
                {
                    if (gotBinary != binary || payload.Length != length)
                    {
                        c.Behavior = Behavior.Failed;
                        c.Result = $"Echo'ed message type or length differs from what I sent (got binary = {gotBinary}, payload length = {payload.Length}).";
                        c.P.CreateWireLog = true;
                        c.P.SendClose(Case.Normal);
                    }
                    else if (sent < count)
                    {
                        SendOne(c);
                    }
                    else
                    {
                        c.Behavior = Behavior.Ok;
                        c.Result = "Ok, received all echo'ed messages in time.";
                        c.P.CreateWireLog = true;
                        c.P.SendClose(Case.Normal);
                    }
                },
            };
        }, CaseLoad.Exclusive)
        {
            HardLimit = TimeSpan.FromSeconds(waitSeconds + 15),
        };

    private static void AddMisc(List<CaseDefinition> cases)
    {
        const int autoFragmentSize = 1300;
        var payload = Repeat((byte)'*', 65536);
        cases.Add(new("10.1.1", $"Send text message with payload of length 65536 auto-fragmented with <b>autoFragmentSize = {autoFragmentSize}</b>.",
            "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
            () => new Case(c =>
            {
                c.P.AutoFragmentSize = autoFragmentSize;
                c.Expect(Behavior.Ok, Message(payload));
                c.ExpectedClose = CleanNormal;
                c.P.SendMessage(payload, binary: false);
                c.P.KillAfter(10);
            })
            {
                AfterGrading = c =>
                {
                    // The fuzzer checks its own side too: 1 text frame and 65536 / 1300 = 50 continuation frames.
                    int continuations = payload.Length / autoFragmentSize;
                    int texts = payload.Length % autoFragmentSize > 0 ? 1 : 0;
                    int gotContinuations = c.P.Traffic.TxFrames.GetValueOrDefault(0);
                    int gotTexts = c.P.Traffic.TxFrames.GetValueOrDefault(1);
                    if (gotContinuations != continuations || gotTexts != texts)
                    {
                        c.Behavior = Behavior.Failed;
                        c.Result = $"Frames transmitted {{0: {gotContinuations}, 1: {gotTexts}}} does not match what we expected {{0: {continuations}, 1: {texts}}}.";
                    }
                },
            }));
    }
}
