using System.Diagnostics;
using System.Text.RegularExpressions;
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
string hostDll = options.HostDll ?? FindHostDll();
Console.WriteLine($"soak: {options.Duration.TotalSeconds:F0} s, sampling every {options.SampleEvery.TotalSeconds:F0} s; Host {hostDll}");

var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
foreach (string arg in new[] { hostDll, "--app", "--port", "0", "--address", "127.0.0.1" })
{
    info.ArgumentList.Add(arg);
}
foreach (string name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(n => n.StartsWith("WS_", StringComparison.Ordinal)).ToList())
{
    info.Environment.Remove(name);
}
using var host = Process.Start(info) ?? throw new InvalidOperationException("could not start the Host");
var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
var hostOutput = new List<string>();
void OnLine(string? line)
{
    if (line is null)
    {
        return;
    }
    lock (hostOutput)
    {
        hostOutput.Add(line);
    }
    if (Regex.Match(line, @"listening on wss?://\S*:(\d+) \(") is { Success: true } m)
    {
        listening.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }
}
host.OutputDataReceived += (_, e) => OnLine(e.Data);
host.ErrorDataReceived += (_, e) => OnLine(e.Data);
host.BeginOutputReadLine();
host.BeginErrorReadLine();
int port;
try
{
    port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
}
catch (TimeoutException)
{
    host.Kill();
    Console.Error.WriteLine("the Host did not start: " + string.Join(" | ", hostOutput));
    return 1;
}

var clock = new Stopwatch();
// A short burst of the same traffic first, then a wait until it has all gone: what the runtime sets up once (thread-pool
// threads, lazily opened descriptors, JIT) is then part of the baseline the end is compared with.
using (var primer = new CancellationTokenSource(TimeSpan.FromSeconds(3)))
{
    await new Workload(new Uri($"ws://127.0.0.1:{port}/"), options).RunAsync(primer.Token);
}
await Settle(TimeSpan.FromSeconds(15));

clock.Start();
var samples = new List<Sample> { Sample.Take(0, host.Id, port) };
Dictionary<string, int> handlesBefore = Sample.HandleKinds(host.Id);
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
    Sample sample = Sample.Take(clock.Elapsed.TotalSeconds, host.Id, port);
    samples.Add(sample);
    Console.WriteLine($"  {sample.Seconds,6:F0} s  rss {sample.RssBytes / 1048576.0,6:F1} MiB  heap {sample.ManagedHeap / 1048576.0,6:F1} MiB  fds {sample.OpenHandles,4}  threads {sample.Threads,3}  conns {sample.Connections,4}  blocks {sample.OutstandingBuffers,4}  " +
        $"echo {workload.Echoes}  delivered {workload.Delivered}  churn {workload.ChurnCycles}  errors {workload.Errors}");
    next += options.SampleEvery;
}
TimeSpan loadTime = clock.Elapsed;
stop.Cancel();
await traffic.WaitAsync(TimeSpan.FromSeconds(30));

// Every client has gone: the server must let go of every connection and every pooled block.
Sample final = await Settle(TimeSpan.FromSeconds(15));
Dictionary<string, int> handlesAfter = Sample.HandleKinds(host.Id);
// What changed, by kind: a leak shows as many sockets; a runtime's lazily opened descriptor as one or two of a kind.
string handleChange = string.Join(", ", handlesAfter.Keys.Union(handlesBefore.Keys).Order()
    .Select(k => (Kind: k, Delta: handlesAfter.GetValueOrDefault(k) - handlesBefore.GetValueOrDefault(k)))
    .Where(d => d.Delta != 0).Select(d => $"{d.Kind} {d.Delta:+0;-0}"));

// SIGTERM: the Host stops gracefully and exits 0.
Process.Start("kill", ["-TERM", host.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
bool exited = host.WaitForExit(15_000);
if (!exited)
{
    host.Kill();
}

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

async Task<Sample> Settle(TimeSpan limit)
{
    var settle = Stopwatch.StartNew();
    Sample now = Sample.Take(clock.Elapsed.TotalSeconds, host.Id, port);
    while ((now.Connections > 0 || now.OutstandingBuffers > 0) && settle.Elapsed < limit)
    {
        await Task.Delay(250);
        now = Sample.Take(clock.Elapsed.TotalSeconds, host.Id, port);
    }
    return now;
}

static string FindHostDll()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        string candidate = Path.Combine(dir.FullName, "src", "Host", "bin", "Release", "net10.0", "Host.dll");
        if (File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
        {
            return File.Exists(candidate) ? candidate : throw new FileNotFoundException("build src/Host in Release first", candidate);
        }
    }
    throw new DirectoryNotFoundException("Engine.sln not found above " + AppContext.BaseDirectory);
}
