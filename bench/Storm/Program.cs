using Storm;

// The connection storm (issue 18): thousands of connections opening and closing as fast as the clients can make them,
// with heartbeats every second, while a fresh client must still be served promptly; afterwards nothing may be left.
// `client ...` is one of the client processes the run starts (see StormClient).
if (args.Length > 0 && args[0] == "client")
{
    return await StormClient.RunAsync(args[1..]);
}
StormOptions options;
try
{
    options = StormOptions.Parse(args);
}
catch (FormatException exception)
{
    Console.Error.WriteLine("error: " + exception.Message);
    return 2;
}
return await StormRun.RunAsync(options, "bench/storm.sh " + string.Join(' ', args));
