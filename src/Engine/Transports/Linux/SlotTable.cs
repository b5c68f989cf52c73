namespace Engine.Transports.Linux;

/// <summary>
/// A loop's connections by small integer slot: the slot travels through the kernel (epoll data, io_uring user data)
/// and comes back as an array index, so an event finds its connection without a dictionary. Loop thread only.
/// </summary>
internal sealed class SlotTable<T>
    where T : class
{
    /// <summary>
    /// Slots 0 to 2^24 - 1: a connection keeps its slot in the high bits of its mail word (LinuxConnection). More than a
    /// loop can hold: the descriptor budget stops accepting at the open-files limit, at most fs.nr_open (2^20 by default).
    /// </summary>
    public const int MaxSlots = 1 << 24;

    private readonly Stack<int> _free = new();
    private readonly int _maxSlots;
    private T?[] _items;
    private int _next;

    /// <param name="maxSlots">At most <see cref="MaxSlots"/>; fewer in tests.</param>
    public SlotTable(int maxSlots = MaxSlots)
    {
        _maxSlots = Math.Min(maxSlots, MaxSlots);
        _items = new T?[Math.Min(1024, _maxSlots)];
    }

    public T? this[int slot] => (uint)slot < (uint)_items.Length ? _items[slot] : null;

    /// <summary>A free slot, or -1 when all are taken.</summary>
    public int Reserve()
    {
        if (_free.Count == 0 && _next == _maxSlots)
        {
            return -1;
        }
        int slot = _free.Count > 0 ? _free.Pop() : _next++;
        if (slot == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }
        return slot;
    }

    public void Set(int slot, T item) => _items[slot] = item;

    public void Release(int slot)
    {
        _items[slot] = null;
        _free.Push(slot);
    }
}
