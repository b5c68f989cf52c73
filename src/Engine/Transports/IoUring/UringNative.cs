using System.Runtime.InteropServices;

namespace Engine.Transports.IoUring;

/// <summary>
/// The io_uring kernel ABI (linux/io_uring.h, x86-64) as far as this transport uses it: raw syscalls through libc's
/// <c>syscall</c>, the shared-memory layouts, and the opcodes and flags.
/// </summary>
internal static unsafe partial class UringNative
{
    public const long SysSetup = 425;
    public const long SysEnter = 426;
    public const long SysRegister = 427;

    public const uint SetupCqSize = 1u << 3;
    public const uint SetupRDisabled = 1u << 6;
    public const uint SetupSubmitAll = 1u << 7;
    public const uint SetupCoopTaskrun = 1u << 8;
    public const uint SetupSingleIssuer = 1u << 12;
    public const uint SetupDeferTaskrun = 1u << 13;

    public const uint FeatSingleMmap = 1u << 0;
    public const uint FeatNoDrop = 1u << 1;
    public const uint FeatFastPoll = 1u << 5;

    public const uint EnterGetEvents = 1u << 0;
    public const uint EnterExtArg = 1u << 3;

    public const uint RegisterEnableRings = 12;
    public const uint RegisterPbufRing = 22;

    public const byte OpPollAdd = 6;
    public const byte OpSendMsg = 9;
    public const byte OpAsyncCancel = 14;
    public const byte OpRead = 22;
    public const byte OpSend = 26;
    public const byte OpRecv = 27;

    public const byte SqeBufferSelect = 1 << 5;
    public const byte SqeCqeSkipSuccess = 1 << 6;

    public const uint CqeFBuffer = 1u << 0;
    public const int CqeBufferShift = 16;

    public const uint PollIn = 0x0001;
    public const uint MsgNoSignal = 0x4000;

    public const long OffSqRing = 0;
    public const long OffSqes = 0x10000000;

    public const int ProtRead = 1;
    public const int ProtWrite = 2;
    public const int MapShared = 1;
    public const int MapPopulate = 0x8000;

    /// <summary>
    /// The byte offset of <c>struct io_uring_buf_ring</c>'s tail: the ring's header overlays its first
    /// <see cref="Buf"/> (addr 8 + len 4 + bid 2 bytes), so the tail shares that entry's reserved field.
    /// </summary>
    public const int BufRingTailOffset = 14;

    // errno values (x86-64 Linux, asm-generic/errno*.h) that io_uring reports; a completion carries one negated in Res.
    // EAGAIN and EINTR, which epoll shares, are in Native.

    /// <summary>EBUSY from io_uring_enter: completions must be reaped before more can be submitted.</summary>
    public const int EBUSY = 16;

    /// <summary>ETIME from io_uring_enter: a wait with a timeout (<see cref="EnterExtArg"/>) timed out.</summary>
    public const int ETIME = 62;

    /// <summary>ENOBUFS in a receive completion: the provided-buffer ring was empty; the receive is re-armed.</summary>
    public const int ENOBUFS = 105;

    [StructLayout(LayoutKind.Sequential)]
    public struct SqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Params
    {
        public uint SqEntries, CqEntries, Flags, SqThreadCpu, SqThreadIdle, Features, WqFd;
        public uint Resv0, Resv1, Resv2;
        public SqRingOffsets SqOff;
        public CqRingOffsets CqOff;
    }

    /// <summary>A submission queue entry (64 bytes); only the fields this transport sets are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    public struct Sqe
    {
        [FieldOffset(0)] public byte Opcode;
        [FieldOffset(1)] public byte Flags;
        [FieldOffset(2)] public ushort IoPrio;
        [FieldOffset(4)] public int Fd;
        [FieldOffset(8)] public ulong Off;
        [FieldOffset(16)] public ulong Addr;
        [FieldOffset(24)] public uint Len;
        [FieldOffset(28)] public uint OpFlags;
        [FieldOffset(32)] public ulong UserData;
        [FieldOffset(40)] public ushort BufGroup;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Cqe
    {
        public ulong UserData;
        public int Res;
        public uint Flags;
    }

    /// <summary>One entry of a provided-buffer ring; the ring's tail shares the first entry's last two bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Buf
    {
        public ulong Addr;
        public uint Len;
        public ushort Bid;
        public ushort Resv;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct BufReg
    {
        public ulong RingAddr;
        public uint RingEntries;
        public ushort Bgid;
        public ushort Flags;
        public ulong Resv0, Resv1, Resv2;
    }

    /// <summary><c>struct io_uring_getevents_arg</c>: a wait with a timeout (<see cref="EnterExtArg"/>).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct GetEventsArg
    {
        public ulong SigMask;
        public uint SigMaskSize;
        public uint MinWaitMicroseconds;
        public ulong Timespec;
    }

    /// <summary>x86-64 <c>struct msghdr</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public void* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a, long b, long c, long d, long e, long f);

    [LibraryImport("libc", SetLastError = true)]
    public static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(void* address, nuint length);

    public static int Setup(uint entries, Params* parameters) => (int)Syscall(SysSetup, entries, (long)parameters, 0, 0, 0, 0);

    public static int Enter(int fd, uint toSubmit, uint minComplete, uint flags, void* argument = null, int argumentSize = 0) =>
        (int)Syscall(SysEnter, fd, toSubmit, minComplete, flags, (long)argument, argumentSize);

    public static int Register(int fd, uint opcode, void* argument, uint count) => (int)Syscall(SysRegister, fd, opcode, (long)argument, count, 0, 0);
}
