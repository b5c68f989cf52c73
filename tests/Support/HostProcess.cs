using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Engine.Tests.Support;

/// <summary>
/// The real Host (src/Host, same configuration as the tests) as a child process: started, signalled, awaited. The one
/// launcher the test projects share (resilience, backplane nodes, the TLS and published-executable tests): inherited
/// <c>WS_*</c> variables are dropped so a test runs only with what it passes, and the port is read from the Host's
/// "listening on" line (start it with port 0 for a free one).
/// </summary>
internal sealed partial class HostProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HostProcess(Process process)
    {
        _process = process;
    }

    public int Port { get; private set; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the Host printed so far (stdout and stderr).</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Path of the Host's entry assembly, built with the same configuration as this test assembly.</summary>
    public static string HostDll
    {
        get
        {
            string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
            string path = Path.Combine(Repository.Root, "src", "Host", "bin", configuration, "net10.0", "Host.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("build src/Host first", path);
        }
    }

    /// <summary>The Native AOT Host that test.sh publishes (<c>HOST_EXECUTABLE</c>), or null when it is not set.</summary>
    public static string? PublishedExecutable =>
        Environment.GetEnvironmentVariable("HOST_EXECUTABLE") is { Length: > 0 } executable ? executable : null;

    /// <summary>Starts the JIT Host (<c>dotnet Host.dll</c>) with <paramref name="args"/> (add <c>--port 0</c> for a free port) and waits until it listens.</summary>
    public static Task<HostProcess> StartAsync(params string[] args) => StartAsync(args, environment: null);

    /// <summary>
    /// Starts the Host with <paramref name="args"/> and <paramref name="environment"/> and waits until it listens.
    /// <paramref name="executable"/> runs a published Host instead of <c>dotnet Host.dll</c>.
    /// </summary>
    public static async Task<HostProcess> StartAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment,
        string? executable = null, string? workingDirectory = null)
    {
        // Through env(1), which resets SIGINT to its default and then becomes the Host (same pid): a test runner started
        // in the background by a non-interactive shell (`nohup ./test.sh &`) ignores SIGINT, the Host would inherit
        // that, and the runtime leaves an ignored SIGINT ignored, so a Ctrl-C test would wait for nothing.
        var info = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add(executable ?? "dotnet");
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }
        if (executable is null)
        {
            info.ArgumentList.Add(HostDll);
        }
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (string name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(n => n.StartsWith("WS_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name); // only what the test passes
        }
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the Host");
        var host = new HostProcess(process);
        process.OutputDataReceived += (_, e) => host.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => host.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            host.Port = await host._port.Task.WaitAsync(TestTimeouts.Hang); // a hang bound: a loaded box starts it in seconds
        }
        catch (TimeoutException)
        {
            host.Dispose();
            throw new InvalidOperationException($"the Host did not start listening within {TestTimeouts.Hang.TotalSeconds} s: " + host.Output);
        }
        catch (InvalidOperationException)
        {
            host.Dispose();
            throw;
        }
        return host;
    }

    /// <summary>Sends SIGTERM (the graceful stop).</summary>
    public void Terminate()
    {
        if (kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the process to end; false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            // Its output ended before a listening line: the Host exited (a bad setting, a port in use); fail at once.
            _port.TrySetException(new InvalidOperationException("the Host exited before listening: " + Output));
            return;
        }
        _output.Enqueue(line);
        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _port.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex(@"listening on wss?://\S*:(\d+) \(")]
    private static partial Regex ListeningLine();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
