namespace Conformance.Cases;

/// <summary>
/// The UTF-8 decoder test sequences Autobahn derives from Markus Kuhn's UTF-8-test.txt, grouped and ordered
/// as its case6_x_x generator does, so that group n becomes case group 6.(n+5).
/// </summary>
public static class Utf8Sequences
{
    public static List<(string Title, List<(bool Valid, byte[] Payload)> Sequences)> All()
    {
        var groups = new List<(string, List<(bool, byte[])>)>();
        void Group(string title, params (bool, byte[])[] items) => groups.Add((title, items.ToList()));
        static byte[] H(string hex) => Convert.FromHexString(hex);
        static byte[] A(string ascii) => System.Text.Encoding.ASCII.GetBytes(ascii);
        static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

        var kosme = H("CEBAE1BDB9CF83CEBCCEB5");
        Group("Some valid UTF-8 sequences",
            (true, Cat(A("hello"), H("24"), A("world"))),
            (true, Cat(A("hello"), H("C2A2"), A("world"))),
            (true, Cat(A("hello"), H("E282AC"), A("world"))),
            (true, Cat(A("hello"), H("F0A4ADA2"), A("world"))),
            (true, kosme));

        // A prefix counts as valid only when it is valid and ends on a code point boundary.
        var prefixes = new List<(bool, byte[])>();
        for (int i = 1; i <= kosme.Length; i++)
        {
            var prefix = kosme[..i];
            prefixes.Add((System.Text.Unicode.Utf8.IsValid(prefix), prefix));
        }
        groups.Add(("All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes));

        Group("First possible sequence of a certain length", (true, H("00")), (true, H("C280")), (true, H("E0A080")), (true, H("F0908080")));
        Group("First possible sequence length 5/6 (invalid codepoints)", (false, H("F888808080")), (false, H("FC8480808080")));
        Group("Last possible sequence of a certain length", (true, H("7F")), (true, H("DFBF")), (true, H("EFBFBF")), (true, H("F48FBFBF")));
        Group("Last possible sequence length 4/5/6 (invalid codepoints)", (false, H("F7BFBFBF")), (false, H("FBBFBFBFBF")), (false, H("FDBFBFBFBFBF")));
        Group("Other boundary conditions", (true, H("ED9FBF")), (true, H("EE8080")), (true, H("EFBFBD")), (true, H("F48FBFBF")), (false, H("F4908080")));

        var continuation = Enumerable.Range(0x80, 0xBF - 0x80).Select(i => (byte)i).ToArray();
        Group("Unexpected continuation bytes",
            (false, H("80")), (false, H("BF")), (false, H("80BF")), (false, H("80BF80")), (false, H("80BF80BF")),
            (false, H("80BF80BF80")), (false, H("80BF80BF80BF")), (false, continuation));

        var lonely = new List<(bool, byte[])>();
        foreach (var (from, to) in new[] { (0xC0, 0xDF), (0xE0, 0xEF), (0xF0, 0xF7), (0xF8, 0xFB), (0xFC, 0xFD) })
        {
            // Each start byte followed by a space; the upper bound is exclusive, as in Autobahn's xrange.
            lonely.Add((false, Enumerable.Range(from, to - from).SelectMany(b => new[] { (byte)b, (byte)0x20 }).ToArray()));
        }
        groups.Add(("Lonely start characters", lonely));

        string[] missing = ["C0", "E080", "F08080", "F8808080", "FC80808080", "DF", "EFBF", "F7BFBF", "FBBFBFBF", "FDBFBFBFBF"];
        groups.Add(("Sequences with last continuation byte missing", missing.Select(m => (false, H(m))).ToList()));
        Group("Concatenation of incomplete sequences", (false, H(string.Concat(missing))));
        Group("Impossible bytes", (false, H("FE")), (false, H("FF")), (false, H("FEFEFFFF")));
        Group("Examples of an overlong ASCII character", (false, H("C0AF")), (false, H("E080AF")), (false, H("F08080AF")), (false, H("F8808080AF")), (false, H("FC80808080AF")));
        Group("Maximum overlong sequences", (false, H("C1BF")), (false, H("E09FBF")), (false, H("F08FBFBF")), (false, H("F887BFBFBF")), (false, H("FC83BFBFBFBF")));
        Group("Overlong representation of the NUL character", (false, H("C080")), (false, H("E08080")), (false, H("F0808080")), (false, H("F880808080")), (false, H("FC8080808080")));
        Group("Single UTF-16 surrogates", (false, H("EDA080")), (false, H("EDADBF")), (false, H("EDAE80")), (false, H("EDAFBF")), (false, H("EDB080")), (false, H("EDBE80")), (false, H("EDBFBF")));
        Group("Paired UTF-16 surrogates",
            (false, H("EDA080EDB080")), (false, H("EDA080EDBFBF")), (false, H("EDADBFEDB080")), (false, H("EDADBFEDBFBF")),
            (false, H("EDAE80EDB080")), (false, H("EDAE80EDBFBF")), (false, H("EDAFBFEDB080")), (false, H("EDAFBFEDBFBF")));

        // Non-characters are valid UTF-8 (RFC 3629): EF BF BE/BF and F[0-4] [89AB]F BF BE/BF, minus the overlong and > U+10FFFF ones.
        var nonCharacters = new List<(bool, byte[])> { (true, H("EFBFBE")), (true, H("EFBFBF")) };
        foreach (var z1 in new byte[] { 0xF0, 0xF1, 0xF2, 0xF3, 0xF4 })
        {
            foreach (var z2 in new byte[] { 0x8F, 0x9F, 0xAF, 0xBF })
            {
                if (z1 == 0xF4 && z2 != 0x8F)
                {
                    continue;
                }
                foreach (var z3 in new byte[] { 0xBE, 0xBF })
                {
                    if (z1 == 0xF0 && z2 == 0x8F)
                    {
                        continue;
                    }
                    nonCharacters.Add((true, [z1, z2, 0xBF, z3]));
                }
            }
        }
        groups.Add(("Non-character code points (valid UTF-8)", nonCharacters));

        Group("Unicode specials (i.e. replacement char)",
            (true, H("EFBFB9")), (true, H("EFBFBA")), (true, H("EFBFBB")), (true, H("EFBFBC")), (true, H("EFBFBD")), (true, H("EFBFBE")), (true, H("EFBFBF")));
        return groups;
    }
}
