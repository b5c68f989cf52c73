using System.Diagnostics;
using Engine.Tests.Support;
using Soak;

// The soak: churn, echo and broadcast traffic together against the real Host for a set time, sampling the server
// process; passes only when its memory, handles and threads end flat and nothing is left rented or connected.
Options options;
try
{
    options = Options.Parse(args);
}
catch (FormatException exception)
{
    Console.Error.WriteLine("error: " + exception.Message);
    return 2;
}
string hostDll = options.HostDll ?? HostProcess.HostDll;
Console.WriteLine($"soak: {options.Duration.TotalSeconds:F0} s, sampling every {options.SampleEvery.TotalSeconds:F0} s; Host {hostDll}");

// Fails with the Host's output if it exits or does not listen within 30 s (test.sh counts that as a failed soak).
using HostProcess host = await HostProcess.StartAsync([hostDll, "--app", "--port", "0", "--address", "127.0.0.1"], environment: null, executable: "dotnet");
int port = host.Port;

var clock = new Stopwatch();
// A short burst of the same traffic first, then a wait until it has all gone: what the runtime sets up once (thread-pool
// threads, lazily opened descriptors, JIT) is then part of the baseline the end is compared with.
using (var primer = new CancellationTokenSource(TimeSpan.FromSeconds(3)))
{
    await new Workload(new Uri($"ws://127.0.0.1:{port}/"), options).RunAsync(primer.Token);
}
await Settle(TimeSpan.FromSeconds(15));

clock.Start();
var samples = new List<Sample> { Sample.Take(0, host.Pid, port) };
Dictionary<string, int> handlesBefore = Sample.HandleKinds(host.Pid);
var workload = new Workload(new Uri($"ws://127.0.0.1:{port}/"), options);
using var stop = new CancellationTokenSource();
Task traffic = workload.RunAsync(stop.Token);
var next = options.SampleEvery;
while (clock.Elapsed < options.Duration && !traffic.IsCompleted)
{
    TimeSpan wait = next - clock.Elapsed;
    if (wait > TimeSpan.Zero)
    {
        await Task.WhenAny(Task.Delay(wait), traffic);
    }
    Sample sample = Sample.Take(clock.Elapsed.TotalSeconds, host.Pid, port);
    samples.Add(sample);
    Console.WriteLine($"  {sample.Seconds,6:F0} s  rss {sample.RssBytes / 1048576.0,6:F1} MiB  heap {sample.ManagedHeap / 1048576.0,6:F1} MiB  fds {sample.OpenHandles,4}  threads {sample.Threads,3}  conns {sample.Connections,4}  blocks {sample.OutstandingBuffers,4}  " +
        $"echo {workload.Echoes}  delivered {workload.Delivered}  churn {workload.ChurnCycles}  errors {workload.Errors}");
    next += options.SampleEvery;
}
TimeSpan loadTime = clock.Elapsed;
stop.Cancel();
await traffic.WaitAsync(TimeSpan.FromSeconds(30));

// Every client has gone: the server must let go of every connection, every pooled block and every descriptor. A
// descriptor may outlive its WebSocket by up to the close timeout (5 s): after the close handshake the server waits for
// the client's FIN, which a client process slowed by the box's load sends late (seen in fresh-clone runs of test.sh).
Sample final = await Settle(TimeSpan.FromSeconds(15), handlesAtMost: samples[0].OpenHandles + 8);
Dictionary<string, int> handlesAfter = Sample.HandleKinds(host.Pid);
// What changed, by kind: a leak shows as many sockets; a runtime's lazily opened descriptor as one or two of a kind.
string handleChange = string.Join(", ", handlesAfter.Keys.Union(handlesBefore.Keys).Order()
    .Select(k => (Kind: k, Delta: handlesAfter.GetValueOrDefault(k) - handlesBefore.GetValueOrDefault(k)))
    .Where(d => d.Delta != 0).Select(d => $"{d.Kind} {d.Delta:+0;-0}"));

// SIGTERM: the Host stops gracefully and exits 0.
host.Terminate();
bool exited = await host.WaitForExitAsync(TimeSpan.FromSeconds(15)); // if not, disposing the HostProcess kills it

var verdict = Analysis.Judge(samples, final, options, workload, exited && host.ExitCode == 0, handleChange);
var result = new SoakResult(DateTime.UtcNow, options.Duration.TotalSeconds, loadTime.TotalSeconds, options.SampleEvery.TotalSeconds, Environment.ProcessorCount,
    workload.Echoes, workload.Published, workload.Delivered, workload.ChurnCycles, workload.Errors, workload.ErrorSamples, samples, final, verdict);
Directory.CreateDirectory(options.OutDirectory);
Report.Write(result, options.OutDirectory);
foreach (Check check in verdict.Checks)
{
    Console.WriteLine($"  [{(check.Passed ? "pass" : "FAIL")}] {check.Name}: {check.Detail}");
}
int passed = verdict.Checks.Count(c => c.Passed);
int failed = verdict.Checks.Count - passed;
Console.WriteLine($"results: {Path.Combine(options.OutDirectory, "soak.md")} (.json, .svg)");
Console.WriteLine($"Soak tests: Passed: {passed}, Failed: {failed}");
return failed == 0 ? 0 : 1;

async Task<Sample> Settle(TimeSpan limit, int handlesAtMost = int.MaxValue)
{
    var settle = Stopwatch.StartNew();
    Sample now = Sample.Take(clock.Elapsed.TotalSeconds, host.Pid, port);
    while ((now.Connections > 0 || now.OutstandingBuffers > 0 || now.OpenHandles > handlesAtMost) && settle.Elapsed < limit)
    {
        await Task.Delay(250);
        now = Sample.Take(clock.Elapsed.TotalSeconds, host.Pid, port);
    }
    return now;
}
