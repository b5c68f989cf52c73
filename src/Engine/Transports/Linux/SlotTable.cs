namespace Engine.Transports.Linux;

/// <summary>
/// A loop's connections by small integer slot: the slot travels through the kernel (epoll data, io_uring user data)
/// and comes back as an array index, so an event finds its connection without a dictionary. Loop thread only.
/// </summary>
internal sealed class SlotTable<T>
    where T : class
{
    private readonly Stack<int> _free = new();
    private T?[] _items = new T?[1024];
    private int _next;

    public T? this[int slot] => (uint)slot < (uint)_items.Length ? _items[slot] : null;

    public int Reserve()
    {
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
