using System.Runtime.InteropServices;
using Engine.Transports.IoUring;
using static Engine.Transports.IoUring.UringNative;

namespace Load.Servers;

/// <summary>
/// The raw TCP echo on io_uring: a receive per connection into a shared buffer, sent straight back from that buffer;
/// the next receive is armed once the send has completed (backpressure), and the buffer goes back then.
/// </summary>
internal static unsafe partial class UringEcho
{
    private const ulong Listen = 1;
    private const ulong Recv = 2;
    private const ulong Send = 3;

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4(int fd, nint address, nint addressLength, int flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, int* value, int length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    public static void Run(int listenFd)
    {
        using var ring = new Ring(4096, 1024, 16 * 1024);
        ring.Enable();
        var held = new Dictionary<int, (ushort Buffer, int Sent, int Length)>();
        ArmListen(ring, listenFd);
        while (true)
        {
            ring.PublishBuffers();
            ring.SubmitAndWait(1);
            while (ring.TryTake(out ulong token, out int result, out uint flags))
            {
                int fd = (int)(token >> 8);
                switch (token & 0xFF)
                {
                    case Listen:
                        AcceptAll(ring, listenFd);
                        ArmListen(ring, listenFd);
                        break;
                    case Recv when result > 0:
                        var buffer = (ushort)(flags >> CqeBufferShift);
                        held[fd] = (buffer, 0, result);
                        SubmitSend(ring, fd, ring.Buffer(buffer), result);
                        break;
                    case Recv:
                        if ((flags & CqeFBuffer) != 0)
                        {
                            ring.AddBuffer((ushort)(flags >> CqeBufferShift));
                        }
                        if (result == -ENOBUFS)
                        {
                            ArmReceive(ring, fd);
                        }
                        else
                        {
                            Close(fd);
                        }
                        break;
                    case Send:
                        var (id, sent, length) = held[fd];
                        if (result < 0)
                        {
                            ring.AddBuffer(id);
                            held.Remove(fd);
                            Close(fd);
                        }
                        else if (sent + result < length)
                        {
                            held[fd] = (id, sent + result, length);
                            SubmitSend(ring, fd, ring.Buffer(id) + sent + result, length - sent - result);
                        }
                        else
                        {
                            ring.AddBuffer(id);
                            held.Remove(fd);
                            ArmReceive(ring, fd);
                        }
                        break;
                }
            }
        }
    }

    private static void AcceptAll(Ring ring, int listenFd)
    {
        while (true)
        {
            var fd = Accept4(listenFd, 0, 0, 0); // blocking: io_uring waits on it rather than handing EAGAIN back
            if (fd < 0)
            {
                return;
            }
            var one = 1;
            SetSockOpt(fd, 6 /* IPPROTO_TCP */, 1 /* TCP_NODELAY */, &one, sizeof(int));
            ArmReceive(ring, fd);
        }
    }

    private static void ArmListen(Ring ring, int listenFd) => ring.PreparePollIn(listenFd, Listen);

    private static void ArmReceive(Ring ring, int fd) => ring.PrepareReceive(fd, ((ulong)fd << 8) | Recv);

    private static void SubmitSend(Ring ring, int fd, byte* data, int length) => ring.PrepareSend(fd, data, length, ((ulong)fd << 8) | Send);
}
