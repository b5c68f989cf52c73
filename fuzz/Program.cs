using Engine.Fuzz;
using SharpFuzz;

// Engine.Fuzz TARGET               run TARGET under afl-fuzz (input on stdin; once when not under afl-fuzz)
// Engine.Fuzz replay TARGET PATH…  run TARGET on files or directories of inputs, report every failure (no afl-fuzz)
// Engine.Fuzz show FILE            print what the session target's runs of FILE did (split and in one read)
// Engine.Fuzz show transport FILE  print what the transport target's run of FILE did
// Engine.Fuzz stability TARGET FILE…  on an instrumented build: the coverage entries that vary between runs of each FILE
// Engine.Fuzz seeds DIR            write the seed corpora (from the unit-test vectors) to DIR/TARGET/
if (args.Length >= 1 && Targets.TryGet(args[0], out Action<ReadOnlySpan<byte>>? target))
{
    if (args[0] == "transport")
    {
        WarmUp.Run(TransportTarget.WarmUp);
    }
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        target(memory.GetBuffer().AsSpan(0, (int)memory.Length));
    });
    return 0;
}
if (args.Length >= 3 && args[0] == "replay" && Targets.TryGet(args[1], out target))
{
    return Replay.Run(target, args[2..]);
}
if (args.Length == 2 && args[0] == "show")
{
    SessionTarget.Show(File.ReadAllBytes(args[1]), Console.Out);
    return 0;
}
if (args.Length == 3 && args[0] == "show" && args[1] == "transport")
{
    TransportTarget.Show(File.ReadAllBytes(args[2]), Console.Out);
    return 0;
}
if (args.Length >= 3 && args[0] == "stability" && Targets.TryGet(args[1], out target))
{
    Stability.Run(args[1], target, args[2..], Console.Out);
    return 0;
}
if (args.Length == 2 && args[0] == "seeds")
{
    Seeds.Write(args[1]);
    return 0;
}
Console.Error.WriteLine("usage: Engine.Fuzz session|handshake|transport | replay TARGET PATH... | show [transport] FILE | stability TARGET FILE... | seeds DIR");
return 2;
