using Engine.Transports.Linux;

namespace Engine.Transports;

/// <summary>
/// How many connection descriptors a server's Linux loops may hold: the process's open-files limit less a reserve. At the
/// limit a process cannot even throw safely (.NET's exception dispatch opens files on Linux; a connection storm that
/// filled every descriptor crashed the Host with "Internal CLR error" and PAL_SEHException), and accept fails and is
/// retried in a loop. So a loop sheds a connection it accepts beyond the budget (closed at once: the client sees the
/// connection end, not a hang), and the process keeps its reserve for files, logs, brokers and the runtime. One per
/// server, shared by its loops.
/// </summary>
internal sealed class DescriptorBudget
{
    private int _open;
    private long _shed;

    public DescriptorBudget(int max) => Max = max;

    /// <summary>Connections the loops may hold at once (settable before start: tests use a small one).</summary>
    public int Max { get; set; }

    /// <summary>Connections held now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections accepted and closed at once because the budget was spent.</summary>
    public long Shed => Interlocked.Read(ref _shed);

    /// <summary>
    /// The budget for this process: its soft open-files limit less max(256, 1/32 of it) (20,000 leaves 19,375), or no
    /// limit where the limit cannot be read.
    /// </summary>
    public static DescriptorBudget ForProcess()
    {
        long limit = Native.OpenFilesLimit();
        return new DescriptorBudget(limit <= 0 ? int.MaxValue : (int)Math.Min(int.MaxValue, limit - Math.Max(256, limit / 32)));
    }

    /// <summary>Takes one descriptor for a new connection; false (and counted as shed) when the budget is spent.</summary>
    public bool TryTake()
    {
        if (Interlocked.Increment(ref _open) <= Max)
        {
            return true;
        }
        Interlocked.Decrement(ref _open);
        Interlocked.Increment(ref _shed);
        return false;
    }

    /// <summary>A connection's descriptor was closed.</summary>
    public void Return() => Interlocked.Decrement(ref _open);
}
