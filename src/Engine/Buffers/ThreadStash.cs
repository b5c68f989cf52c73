namespace Engine.Buffers;

/// <summary>
/// A few pooled objects kept by a dedicated I/O thread in front of a server's shared pool. An event loop rents a
/// reply block and a send list for a receive batch and gives both back when the send completes, on the same thread;
/// through the shared pool that was five or six interlocked instructions per batch, here it is none. Only threads that
/// ask for one keep a stash (the loops): a thread-pool thread would hold its objects while it idles. A stash belongs
/// to one pool at a time (no global state across servers): a put for another pool drops what it holds, which are
/// objects already given back, and starts over for that pool. Each user keeps its stash in a thread-static field of its
/// own, in a non-generic class: a thread-static of a generic class shared over reference types is found through a
/// runtime lookup on every access, not an inlined one.
/// </summary>
internal sealed class ThreadStash<T>(int capacity)
    where T : class
{
    private readonly T?[] _items = new T?[capacity];
    private int _count;
    private object? _pool;

    /// <summary>An object of <paramref name="pool"/>'s that this thread kept, if any.</summary>
    public bool TryTake(object pool, out T item)
    {
        if (_count == 0 || _pool != pool)
        {
            item = null!;
            return false;
        }
        int last = --_count;
        item = _items[last]!;
        _items[last] = null;
        return true;
    }

    /// <summary>Keeps <paramref name="item"/>, given back to <paramref name="pool"/>; false when there is no room.</summary>
    public bool TryPut(object pool, T item)
    {
        if (_pool != pool)
        {
            Array.Clear(_items);
            _count = 0;
            _pool = pool;
        }
        if (_count == _items.Length)
        {
            return false;
        }
        _items[_count++] = item;
        return true;
    }
}
