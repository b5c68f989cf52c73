namespace Engine.Transports;

/// <summary>
/// A stream connection's zero-byte read as a callback (<see cref="DuplexConnection.OnReadable"/>): the pending read and
/// one continuation, made at the connection's first wait that did not complete at once and reused for every later one,
/// so waiting allocates nothing.
/// </summary>
internal sealed class StreamReadableWait
{
    private readonly DuplexConnection _connection;
    private readonly Action _completed;
    private ValueTask<int> _wait;

    public StreamReadableWait(DuplexConnection connection)
    {
        _connection = connection;
        _completed = OnCompleted;
    }

    /// <summary>As <see cref="DuplexConnection"/>'s WaitReadable, for the zero-byte read <paramref name="wait"/>.</summary>
    public bool Begin(ValueTask<int> wait, out int ready)
    {
        if (wait.IsCompleted)
        {
            ready = wait.GetAwaiter().GetResult();
            return true;
        }
        _wait = wait; // before the continuation is registered: it may run at once, on another thread
        wait.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_completed);
        ready = 0;
        return false;
    }

    private void OnCompleted()
    {
        ValueTask<int> wait = _wait;
        _wait = default;
        int ready;
        Exception? error = null;
        try
        {
            ready = wait.GetAwaiter().GetResult();
        }
        catch (Exception exception)
        {
            ready = -1;
            error = exception;
        }
        _connection.OnReadable(ready, error);
    }
}
