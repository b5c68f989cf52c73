using System.Collections.Concurrent;
using Engine.Transports.Linux;

namespace Engine.Transports;

/// <summary>
/// How many connection descriptors a server's accept loops may hold: the process's open-files limit less a reserve. At
/// the limit a process cannot even throw safely (.NET's exception dispatch opens files on Linux; a connection storm that
/// filled every descriptor crashed the Host with "Internal CLR error" and PAL_SEHException), and accept fails and is
/// retried in a loop. So an accept loop takes a descriptor from the budget before it accepts, and when the budget is spent
/// it stops accepting until a connection closes: newcomers wait in the kernel's accept queue (milliseconds in a storm,
/// where connections close all the time) instead of being refused, and the process keeps its reserve for files, logs,
/// brokers and the runtime. One per server, shared by its loops.
/// </summary>
internal sealed class DescriptorBudget
{
    private readonly ConcurrentQueue<Action> _waiting = new();
    private int _open;
    private int _waiters;
    private long _pauses;

    public DescriptorBudget(int max) => Max = max;

    /// <summary>Connections the loops may hold at once (settable before start: tests use a small one).</summary>
    public int Max { get; set; }

    /// <summary>Connections held now (an accept in flight holds one too).</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Times an accept loop found the budget spent and stopped accepting until a connection closed.</summary>
    public long Pauses => Interlocked.Read(ref _pauses);

    /// <summary>
    /// The budget for this process: its soft open-files limit less what is open when the server is made (the runtime's
    /// own, ~120 in the Host) and a spare of max(256, 1/128 of the limit) for what opens later (20,000 leaves about
    /// 19,620); no limit where the limit cannot be read. A storm holds the budget spent whenever connections close later
    /// than their clients reconnect, so every descriptor the reserve does not need is a connection that does not wait.
    /// </summary>
    public static DescriptorBudget ForProcess()
    {
        long limit = Native.OpenFilesLimit();
        if (limit <= 0)
        {
            return new DescriptorBudget(int.MaxValue);
        }
        long reserve = Native.OpenDescriptors() + Math.Max(256, limit / 128);
        return new DescriptorBudget((int)Math.Clamp(limit - reserve, 1, int.MaxValue));
    }

    /// <summary>Takes one descriptor for a connection about to be accepted; false when the budget is spent.</summary>
    public bool TryTake()
    {
        if (Interlocked.Increment(ref _open) <= Max)
        {
            return true;
        }
        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>A descriptor was closed (or an accept that took one found nothing): wakes the accept loops that wait.</summary>
    public void Return()
    {
        Interlocked.Decrement(ref _open);
        if (Volatile.Read(ref _waiters) != 0)
        {
            ResumeWaiters();
        }
    }

    /// <summary>
    /// After <see cref="TryTake"/> failed: runs <paramref name="resume"/> once (on the thread that returns a descriptor)
    /// when the budget has room again, at once if it already has.
    /// </summary>
    public void WhenAvailable(Action resume)
    {
        Interlocked.Increment(ref _pauses);
        _waiting.Enqueue(resume);
        Interlocked.Increment(ref _waiters);
        // A descriptor returned between the failed take and the enqueue saw no waiter: look again (both sides fence).
        if (Open < Max)
        {
            ResumeWaiters();
        }
    }

    /// <summary>Waits until the budget has room (the portable accept loop); false when <paramref name="cancel"/> fired.</summary>
    public async Task<bool> WaitAsync(CancellationToken cancel)
    {
        var available = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        WhenAvailable(() => available.TrySetResult());
        try
        {
            await available.Task.WaitAsync(cancel).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void ResumeWaiters()
    {
        while (_waiting.TryDequeue(out Action? resume))
        {
            Interlocked.Decrement(ref _waiters);
            resume();
        }
    }
}
