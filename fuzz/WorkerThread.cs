using System.Runtime.ExceptionServices;

namespace Engine.Fuzz;

/// <summary>
/// A thread that runs what it is handed, one thing at a time, while the caller waits. The transport target needs two:
/// the loop thread (an io_uring ring with SINGLE_ISSUER accepts submissions only from the thread that enabled it, so every
/// run must drive its loop from the same thread, whichever thread afl or xUnit calls from) and an application thread
/// (a send, close or abort from outside the loop takes the cross-thread path, through the loop's mailbox). The caller
/// waits, so the run stays deterministic.
/// </summary>
internal sealed class WorkerThread
{
    private readonly SemaphoreSlim _work = new(0);
    private readonly SemaphoreSlim _done = new(0);
    private readonly Lock _gate = new();
    private Action? _action;
    private ExceptionDispatchInfo? _failure;

    public WorkerThread(string name)
    {
        var thread = new Thread(Serve) { IsBackground = true, Name = name };
        thread.Start();
    }

    /// <summary>Runs <paramref name="action"/> on this thread and waits for it; rethrows what it threw. Callers on several threads (xUnit) take turns.</summary>
    public void Invoke(Action action)
    {
        ExceptionDispatchInfo? failure;
        lock (_gate)
        {
            _action = action;
            _work.Release();
            _done.Wait();
            failure = _failure;
            _failure = null;
        }
        failure?.Throw();
    }

    private void Serve()
    {
        while (true)
        {
            _work.Wait();
            try
            {
                _action!();
            }
            catch (Exception exception)
            {
                _failure = ExceptionDispatchInfo.Capture(exception);
            }
            _action = null;
            _done.Release();
        }
    }
}
