using System.Runtime.CompilerServices;
using Engine.Session;
using Engine.Transports;
using Engine.Transports.Epoll;
using Engine.Transports.IoUring;

namespace Engine.Tests.Unit.Transports;

/// <summary>
/// What an open, idle connection costs in managed objects: one transport connection, its send queue, its session and
/// the facade the application holds (an idle connection holds no buffer). Each size is a budget: a field added to one
/// of these types fails here, so growing the memory per idle connection is a decision, not an accident. The figures
/// are the instance sizes on 64-bit .NET 10 (header and method table included), measured, not computed.
/// </summary>
public sealed class ConnectionFootprintTests
{
    public static TheoryData<Type, int> Budgets => new()
    {
        { typeof(UringConnection), 184 },
        { typeof(EpollConnection), 160 },
        { typeof(SocketConnection), 128 }, // 120 before its own socket operations (they replace the socket's larger ones)
        { typeof(SendQueue), 128 },
        { typeof(WebSocketSession), 264 },
        { typeof(WebSocketConnection), 144 },
    };

    /// <summary>Bytes one instance takes on the heap: an object made without running its constructor, counted by the allocator.</summary>
    private static long InstanceSize(Type type)
    {
        GC.KeepAlive(RuntimeHelpers.GetUninitializedObject(type)); // the first one also loads the type: not counted
        long before = GC.GetAllocatedBytesForCurrentThread();
        object instance = RuntimeHelpers.GetUninitializedObject(type);
        long size = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(instance);
        return size;
    }

    [Theory]
    [MemberData(nameof(Budgets))]
    public void Each_per_connection_object_stays_within_its_budget(Type type, int budget)
    {
        long size = InstanceSize(type);
        Assert.True(size <= budget, $"{type.Name} takes {size} B per connection, over its budget of {budget} B (see docs/architecture.md)");
    }

    [Fact]
    public void An_io_uring_connection_costs_at_most_720_bytes_of_objects()
    {
        // 720 B: what these four objects took before the seam redesign (b73a458); the redesign had to stay within it.
        long total = InstanceSize(typeof(UringConnection)) + InstanceSize(typeof(SendQueue))
            + InstanceSize(typeof(WebSocketSession)) + InstanceSize(typeof(WebSocketConnection));
        Assert.True(total <= 720, $"{total} B of objects per idle io_uring connection");
    }
}
