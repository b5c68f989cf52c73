using System.Diagnostics;
using System.Text.Json;

namespace Storm;

/// <summary>A storm client process started by the run (optionally under <c>nice</c> and <c>taskset</c>); collects its <c>result</c> line.</summary>
internal sealed class ClientProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<ClientResult?> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="arguments">The client's own arguments.</param>
    /// <param name="launcher">What starts it (<see cref="Launcher.Command"/>): dotnet, perhaps behind nice and taskset.</param>
    public ClientProcess(IEnumerable<string> arguments, IReadOnlyList<string> launcher)
    {
        var info = new ProcessStartInfo(launcher[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string part in launcher.Skip(1))
        {
            info.ArgumentList.Add(part);
        }
        info.ArgumentList.Add(typeof(ClientProcess).Assembly.Location);
        info.ArgumentList.Add("client");
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start a storm client");
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                Console.Error.WriteLine($"  client {_process.Id}: {line}");
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Its result, or null if it exited without one (crashed, or killed by its own deadline).</summary>
    public Task<ClientResult?> Result => _result.Task;

    public int ExitCode => _process.HasExited ? _process.ExitCode : -1;

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
        _result.TrySetResult(null);
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _result.TrySetResult(null);
        }
        else if (line.StartsWith("result ", StringComparison.Ordinal))
        {
            _result.TrySetResult(JsonSerializer.Deserialize<ClientResult>(line["result ".Length..]));
        }
        else
        {
            Console.WriteLine($"  client {_process.Id}: {line}");
        }
    }
}
