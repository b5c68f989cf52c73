using System.Security.Cryptography;
using System.Text;
using Conformance.Fuzzing;

namespace Conformance.Cases;

// Sections 12 and 13 (permessage-deflate, RFC 7692), after autobahntestsuite/case/case12_x_x.py: 1000 compressed
// messages per case, each echo checked by type, length and SHA-1 before the next is sent.
public static partial class Catalogue
{
    /// <summary>(payload length, message count, case timeout in seconds, auto-fragment size), Autobahn's MSG_SIZES.</summary>
    private static readonly (int Length, int Count, int Wait, int Fragment)[] s_compressionSizes =
    [
        (16, 1000, 60, 0), (64, 1000, 60, 0), (256, 1000, 120, 0), (1024, 1000, 240, 0), (4096, 1000, 480, 0),
        (8192, 1000, 480, 0), (16384, 1000, 480, 0), (32768, 1000, 480, 0), (65536, 1000, 480, 0), (131072, 1000, 480, 0),
        (8192, 1000, 480, 256), (16384, 1000, 480, 256), (32768, 1000, 480, 256), (65536, 1000, 480, 256),
        (131072, 1000, 480, 256), (131072, 1000, 480, 1024), (131072, 1000, 480, 4096), (131072, 1000, 480, 32768),
    ];

    /// <summary>
    /// Autobahn's five test files in its report order (12.1-12.5), with their sizes and types. The files themselves are
    /// not redistributable here, so each is replaced by deterministic data of the same kind and size (see <see cref="TestData"/>).
    /// </summary>
    private static readonly (string Name, string Description, int Size, bool Binary)[] s_compressionData =
    [
        ("json", "Large JSON data file", 194050, false),
        ("bitmap", "Lena Picture, Bitmap 512x512 bw", 263222, true),
        ("text", "Human readable text, Goethe's Faust I (German)", 222218, true),
        ("html", "Large HTML file", 263451, false),
        ("pdf", "A larger PDF", 1042328, true),
    ];

    /// <summary>Section 13's offers and the server-accept policy Autobahn pairs each with (only the offers matter against a server).</summary>
    private static readonly (bool NoContextTakeover, int MaxWindowBits)[][] s_compressionOffers =
    [
        [(false, 0)],
        [(true, 0)],
        [(false, 8)],
        [(false, 15)],
        [(true, 8)],
        [(true, 15)],
        [(true, 8), (true, 0), (false, 0)],
    ];

    private static readonly Dictionary<string, byte[]> s_testData = new();

    private static void AddCompression(List<CaseDefinition> cases)
    {
        for (int j = 0; j < s_compressionData.Length; j++)
        {
            var data = s_compressionData[j];
            for (int i = 0; i < s_compressionSizes.Length; i++)
            {
                var (length, count, wait, fragment) = s_compressionSizes[i];
                cases.Add(CompressedEcho($"12.{j + 1}.{i + 1}",
                    $"Send {count} compressed messages each of payload size {length}, auto-fragment to {fragment} octets. Use default permessage-deflate offer.",
                    $"Receive echo'ed messages (with payload as sent). Timeout case after {wait} secs.",
                    data.Name, data.Size, data.Binary, length, count, wait, fragment, ClientDeflate.Offer(false, 0)));
            }
        }
        for (int j = 0; j < s_compressionOffers.Length; j++)
        {
            var offers = s_compressionOffers[j];
            string offer = string.Join(", ", offers.Select(o => ClientDeflate.Offer(o.NoContextTakeover, o.MaxWindowBits)));
            string described = "[" + string.Join(", ", offers.Select(o => $"({(o.NoContextTakeover ? "True" : "False")}, {o.MaxWindowBits})")) + "]";
            for (int i = 0; i < s_compressionSizes.Length; i++)
            {
                var (length, count, wait, fragment) = s_compressionSizes[i];
                cases.Add(CompressedEcho($"13.{j + 1}.{i + 1}",
                    $"Send {count} compressed messages each of payload size {length}, auto-fragment to {fragment} octets. Use permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): {described}",
                    $"Receive echo'ed messages (with payload as sent). Timeout case after {wait} secs.",
                    "json", 194050, false, length, count, wait, fragment, offer));
            }
        }
    }

    private static CaseDefinition CompressedEcho(string id, string description, string expectation, string dataName, int dataSize, bool binary,
        int length, int count, int waitSeconds, int fragment, string offer) =>
        new(id, description, expectation, () =>
        {
            byte[] data = TestData(dataName, dataSize);
            int sent = 0;
            int position = 0;
            byte[] expectedHash = [];
            void SendOne(Case c)
            {
                // A window over the test data that wraps around, like Autobahn's payloadRXPtr.
                var message = new byte[length];
                for (int filled = 0; filled < length;)
                {
                    int n = Math.Min(length - filled, data.Length - position);
                    data.AsSpan(position, n).CopyTo(message.AsSpan(filled));
                    filled += n;
                    position = (position + n) % data.Length;
                }
                expectedHash = SHA1.HashData(message);
                c.P.SendMessage(message, binary);
                sent++;
            }
            return new Case(c =>
            {
                c.P.CreateWireLog = false;
                c.ReportTime = true;
                c.ExpectedClose = CleanNormal;
                c.P.AutoFragmentSize = fragment;
                if (c.P.Deflate is null)
                {
                    c.Behavior = Behavior.Unimplemented;
                    c.Result = "permessage-deflate was not agreed.";
                    c.P.SendClose(Case.Normal);
                    return;
                }
                c.Behavior = Behavior.Failed;
                c.Result = $"Case did not finish within {waitSeconds} seconds.";
                c.P.CloseAfter(waitSeconds);
                SendOne(c);
            })
            {
                ExtensionOffer = offer,
                MessageHandler = (c, payload, gotBinary) =>
                {
                    if (gotBinary != binary || payload.Length != length || !SHA1.HashData(payload).AsSpan().SequenceEqual(expectedHash))
                    {
                        c.Behavior = Behavior.Failed;
                        c.Result = gotBinary != binary
                            ? $"Echo'ed message type differs from what I sent (got binary {gotBinary}, expected binary {binary})."
                            : payload.Length != length
                                ? $"Echo'ed message length differs from what I sent (got length {payload.Length}, expected length {length})."
                                : "Echo'ed message contents differs from what I sent.";
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
        }, CaseLoad.Busy)
        {
            HardLimit = TimeSpan.FromSeconds(waitSeconds + 15),
        };

    /// <summary>
    /// Deterministic stand-ins for Autobahn's test files, each of its file's kind so compression behaves alike: JSON and
    /// HTML markup with repeated keys and tags, German-like prose, an 8-bit grayscale bitmap (smooth gradients plus noise),
    /// and a PDF-like mix of text objects and incompressible (already compressed) streams.
    /// </summary>
    private static byte[] TestData(string name, int size)
    {
        lock (s_testData)
        {
            if (s_testData.TryGetValue(name, out byte[]? cached))
            {
                return cached;
            }
            var random = new Random(name.GetHashCode(StringComparison.Ordinal) ^ size);
            string[] words = ["und", "der", "die", "das", "ich", "nicht", "Mephistopheles", "Faust", "Gretchen", "Welt", "Geist",
                "mit", "sich", "mein", "Herz", "so", "ist", "wie", "auf", "zu", "Himmel", "Erde", "Nacht", "Wagner", "Studierzimmer"];
            var text = new StringBuilder(size + 256);
            byte[] result;
            switch (name)
            {
                case "json":
                    text.Append('[');
                    for (int i = 0; text.Length < size; i++)
                    {
                        text.Append("{\"id\":").Append(i).Append(",\"name\":\"").Append(words[random.Next(words.Length)]).Append(' ')
                            .Append(words[random.Next(words.Length)]).Append("\",\"active\":").Append(random.Next(2) == 0 ? "true" : "false")
                            .Append(",\"score\":").Append(random.Next(100000)).Append(",\"tags\":[\"").Append(words[random.Next(words.Length)])
                            .Append("\",\"u-").Append(random.Next(50)).Append("\"]},\n");
                    }
                    result = Encoding.UTF8.GetBytes(text.ToString());
                    break;
                case "html":
                    text.Append("<!DOCTYPE html><html><head><title>Faust</title></head><body>\n");
                    while (text.Length < size)
                    {
                        text.Append("<div class=\"verse\"><p id=\"v").Append(random.Next(10000)).Append("\">");
                        for (int w = random.Next(4, 14); w > 0; w--)
                        {
                            text.Append(words[random.Next(words.Length)]).Append(' ');
                        }
                        text.Append("</p><a href=\"/kapitel/").Append(random.Next(30)).Append("\">weiter - Schoene</a></div>\n");
                    }
                    result = Encoding.UTF8.GetBytes(text.ToString());
                    break;
                case "text":
                    while (text.Length < size)
                    {
                        for (int w = random.Next(5, 12); w > 0; w--)
                        {
                            text.Append(words[random.Next(words.Length)]).Append(' ');
                        }
                        text.Append(random.Next(4) == 0 ? "!\n" : ",\n");
                    }
                    result = Encoding.Latin1.GetBytes(text.ToString());
                    break;
                case "bitmap":
                    result = new byte[size];
                    for (int i = 54; i < size; i++)
                    {
                        int x = (i - 54) % 512, y = (i - 54) / 512;
                        result[i] = (byte)(((x * y) >> 6) + 64 * Math.Sin(x / 37.0) + random.Next(8));
                    }
                    "BM"u8.CopyTo(result);
                    break;
                default: // pdf
                    var pdf = new MemoryStream(size + 65536);
                    while (pdf.Length < size)
                    {
                        pdf.Write(Encoding.ASCII.GetBytes($"{random.Next(1000)} 0 obj\n<< /Type /Page /Length {random.Next(5000)} /Filter /FlateDecode >>\nstream\n"));
                        byte[] stream = new byte[random.Next(500, 6000)];
                        random.NextBytes(stream);
                        pdf.Write(stream);
                        pdf.Write("\nendstream\nendobj\n"u8);
                    }
                    result = pdf.ToArray();
                    break;
            }
            Array.Resize(ref result, size);
            s_testData[name] = result;
            return result;
        }
    }
}
