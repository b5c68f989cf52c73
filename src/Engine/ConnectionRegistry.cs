namespace Engine;

/// <summary>
/// The connections a server holds, for shutdown and counting: an intrusive doubly linked list (the links live in the
/// connection) under one lock, taken once when a connection starts and once when it ends, never per message. A
/// dictionary node plus its bucket cost about 60 bytes per connection; the two links cost 16.
/// </summary>
internal sealed class ConnectionRegistry
{
    private readonly Lock _lock = new();
    private WebSocketConnection? _head;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public bool IsEmpty => Count == 0;

    public void Add(WebSocketConnection connection)
    {
        lock (_lock)
        {
            connection.RegistryNext = _head;
            if (_head is not null)
            {
                _head.RegistryPrevious = connection;
            }
            _head = connection;
            connection.IsRegistered = true;
            _count++;
        }
    }

    /// <summary>Unlinks <paramref name="connection"/> (once; later calls do nothing); true when the registry is then empty.</summary>
    public bool Remove(WebSocketConnection connection)
    {
        lock (_lock)
        {
            if (connection.IsRegistered)
            {
                connection.IsRegistered = false;
                WebSocketConnection? previous = connection.RegistryPrevious, next = connection.RegistryNext;
                if (previous is null)
                {
                    _head = next;
                }
                else
                {
                    previous.RegistryNext = next;
                }
                if (next is not null)
                {
                    next.RegistryPrevious = previous;
                }
                connection.RegistryPrevious = connection.RegistryNext = null;
                _count--;
            }
            return _count == 0;
        }
    }

    /// <summary>A copy of the current members, to act on outside the lock (shutdown).</summary>
    public WebSocketConnection[] Snapshot()
    {
        lock (_lock)
        {
            var members = new WebSocketConnection[_count];
            int i = 0;
            for (WebSocketConnection? c = _head; c is not null; c = c.RegistryNext)
            {
                members[i++] = c;
            }
            return members;
        }
    }

    /// <summary>Bytes queued for sending over all members, and the largest single queue (metrics; under the lock, no copy).</summary>
    public (long Total, long Max) SendQueueBytes()
    {
        long total = 0, max = 0;
        lock (_lock)
        {
            for (WebSocketConnection? c = _head; c is not null; c = c.RegistryNext)
            {
                long buffered = c.BufferedAmount;
                total += buffered;
                max = Math.Max(max, buffered);
            }
        }
        return (total, max);
    }
}
