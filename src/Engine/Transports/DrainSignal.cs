using System.Threading.Tasks.Sources;

namespace Engine.Transports;

/// <summary>
/// A reusable one-waiter signal: the portable transport's receive loop waits on it while replies are over the send
/// limit, and the flush that drains them (or an abort) sets it. Arm, then wait; a set with nobody armed does nothing.
/// Allocation-free after construction.
/// </summary>
internal sealed class DrainSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _armed;

    /// <summary>Receive loop: starts a wait; the caller checks its condition again, then awaits or <see cref="Disarm"/>s.</summary>
    public ValueTask Arm()
    {
        _core.Reset();
        Volatile.Write(ref _armed, 1);
        return new ValueTask(this, _core.Version);
    }

    /// <summary>Receive loop: gives up the wait; false when a <see cref="Set"/> already claimed it (then the wait completes).</summary>
    public bool Disarm() => Interlocked.Exchange(ref _armed, 0) == 1;

    /// <summary>Any thread: completes the armed wait, once.</summary>
    public void Set()
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1)
        {
            _core.SetResult(true);
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
