namespace Engine;

// What few connections need, apart from the fields every one holds: the channels it joined, a close reason, and a
// subprotocol the server could not number.
public sealed partial class WebSocketConnection
{
    // Guards the subscription list (rare operations). The session object is internal and never locked elsewhere, so it
    // serves as the monitor and each connection saves a lock object (memory per idle connection). Not the transport:
    // that is its send queue, which locks itself on every write.
    private object SubscriptionLock => _session;

    // What a connection holds only once it has joined a channel or been given a close reason that is not empty: one
    // reference for both, made at the first (memory per idle connection).
    private sealed class Extras
    {
        public List<string>? Subscriptions;
        public string CloseReason = "";
        public string? Subprotocol; // only when the server's table of names is full
    }

    /// <summary>Whether this connection has made its side object (tests: an open, idle connection has none).</summary>
    internal bool HoldsExtras => Volatile.Read(ref _extras) is not null;

    private Extras MadeExtras => Volatile.Read(ref _extras) ?? Interlocked.CompareExchange(ref _extras, new Extras(), null) ?? _extras!;

    // Empty until a close with a reason. The first close to set the code sets the reason (the callers check the code).
    private string CloseReason
    {
        get => Volatile.Read(ref _extras)?.CloseReason ?? "";
        set
        {
            if (value.Length != 0 || Volatile.Read(ref _extras) is not null)
            {
                MadeExtras.CloseReason = value;
            }
        }
    }

    /// <summary>Records <paramref name="channel"/> as joined; false when it already was.</summary>
    internal bool TryAddSubscription(string channel)
    {
        lock (SubscriptionLock)
        {
            Extras extras = MadeExtras;
            if (extras.Subscriptions?.Contains(channel) == true)
            {
                return false;
            }
            (extras.Subscriptions ??= new List<string>()).Add(channel);
            return true;
        }
    }

    internal void RemoveSubscription(string channel)
    {
        lock (SubscriptionLock)
        {
            _extras?.Subscriptions?.Remove(channel);
        }
    }

    internal List<string> TakeSubscriptions()
    {
        lock (SubscriptionLock)
        {
            List<string> taken = _extras?.Subscriptions ?? [];
            if (_extras is not null)
            {
                _extras.Subscriptions = null;
            }
            return taken;
        }
    }
}
