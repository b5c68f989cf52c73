using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Transports.Linux;
using static Engine.Transports.IoUring.UringNative;

namespace Engine.Transports.IoUring;

/// <summary>
/// One io_uring instance used by one thread: the mapped submission and completion rings, and a ring of provided
/// receive buffers the kernel picks from when data arrives (so an idle connection holds no receive buffer).
/// Set up with SINGLE_ISSUER and DEFER_TASKRUN: completions are produced only inside <see cref="SubmitAndWait"/>,
/// on the owning thread, so the rings need no locks and one system call both submits a whole loop iteration's
/// sends and receives and collects what finished.
/// </summary>
internal sealed unsafe class Ring : IDisposable
{
    public const ushort BufferGroup = 0;

    private readonly int _fd;
    private readonly byte* _rings;
    private readonly nuint _ringsSize;
    private readonly Sqe* _sqes;
    private readonly nuint _sqesSize;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint _sqMask;
    private readonly uint _sqEntries;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly Cqe* _cqes;
    private uint _sqLocalTail;
    private uint _sqSubmitted;

    private readonly Buf* _bufRing;
    private readonly ushort _bufMask;
    private ushort _bufTail;
    private readonly byte* _buffers;

    /// <summary>
    /// Sets up a ring with <paramref name="entries"/> submission slots and <paramref name="bufferCount"/> receive
    /// buffers of <paramref name="bufferSize"/> bytes. <paramref name="singleIssuer"/>: one thread (the one that calls
    /// <see cref="Enable"/>) submits and reaps, and completions are produced only when it asks; otherwise any one thread
    /// at a time may drive the ring (the benchmark client moves its loop between threads), and it starts enabled.
    /// </summary>
    public Ring(uint entries, int bufferCount, int bufferSize, bool singleIssuer = true)
    {
        Params p = default;
        p.Flags = SetupCqSize | SetupSubmitAll | (singleIssuer ? SetupSingleIssuer | SetupDeferTaskrun | SetupRDisabled : SetupCoopTaskrun);
        p.CqEntries = entries * 4;
        _fd = Setup(entries, &p);
        if (_fd < 0)
        {
            throw new SocketException(Native.LastError, "io_uring_setup");
        }
        try
        {
            const uint Needed = FeatSingleMmap | FeatNoDrop | FeatFastPoll;
            if ((p.Features & Needed) != Needed)
            {
                throw new PlatformNotSupportedException("io_uring without single mmap, no-drop or fast poll");
            }
            nuint sqSize = p.SqOff.Array + p.SqEntries * sizeof(uint);
            nuint cqSize = p.CqOff.Cqes + p.CqEntries * (uint)sizeof(Cqe);
            _ringsSize = Math.Max(sqSize, cqSize);
            _rings = Map(_ringsSize, OffSqRing);
            _sqesSize = p.SqEntries * (uint)sizeof(Sqe);
            _sqes = (Sqe*)Map(_sqesSize, OffSqes);

            _sqHead = (uint*)(_rings + p.SqOff.Head);
            _sqTail = (uint*)(_rings + p.SqOff.Tail);
            _sqMask = *(uint*)(_rings + p.SqOff.RingMask);
            _sqEntries = p.SqEntries;
            uint* array = (uint*)(_rings + p.SqOff.Array);
            for (uint i = 0; i < p.SqEntries; i++)
            {
                array[i] = i; // entry i always sits in slot i: the indirection array never changes
            }
            _sqLocalTail = _sqSubmitted = *_sqTail;
            _cqHead = (uint*)(_rings + p.CqOff.Head);
            _cqTail = (uint*)(_rings + p.CqOff.Tail);
            _cqMask = *(uint*)(_rings + p.CqOff.RingMask);
            _cqes = (Cqe*)(_rings + p.CqOff.Cqes);

            // Provided buffers: the ring of descriptors must be page-aligned; the buffers themselves are one block.
            _bufRing = (Buf*)NativeMemory.AlignedAlloc((nuint)(bufferCount * sizeof(Buf)), 4096);
            _bufMask = (ushort)(bufferCount - 1);
            BufferSize = bufferSize;
            _buffers = (byte*)NativeMemory.AlignedAlloc((nuint)bufferCount * (nuint)bufferSize, 4096);
            BufReg reg = default;
            reg.RingAddr = (ulong)_bufRing;
            reg.RingEntries = (uint)bufferCount;
            reg.Bgid = BufferGroup;
            if (Register(_fd, RegisterPbufRing, &reg, 1) < 0)
            {
                throw new SocketException(Native.LastError, "io_uring_register(PBUF_RING)");
            }
            for (int i = 0; i < bufferCount; i++)
            {
                AddBuffer((ushort)i);
            }
            PublishBuffers();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int BufferSize { get; }

    /// <summary>Receive buffers the kernel picks from.</summary>
    public int BufferCount => _bufMask + 1;

    /// <summary>Makes the calling thread the ring's only submitter (the ring starts disabled so another thread can create it).</summary>
    public void Enable()
    {
        if (Register(_fd, RegisterEnableRings, null, 0) < 0)
        {
            throw new SocketException(Native.LastError, "io_uring_register(ENABLE_RINGS)");
        }
    }

    /// <summary>The next free submission entry, zeroed; submitted with the next <see cref="SubmitAndWait"/>.</summary>
    public Sqe* NextSqe()
    {
        if (_sqLocalTail - Volatile.Read(ref *_sqHead) >= _sqEntries)
        {
            SubmitAndWait(0); // full: hand the kernel what we have (SUBMIT_ALL consumes every entry)
            if (_sqLocalTail - Volatile.Read(ref *_sqHead) >= _sqEntries)
            {
                // The kernel took nothing (EBUSY: completions it cannot post). Reusing a slot would silently drop an
                // operation; failing the loop is louder. Not seen here: the completion queue is 4x the submission
                // queue and the kernel keeps overflow (NODROP).
                throw new InvalidOperationException("io_uring: the submission queue is full and the kernel takes no more");
            }
        }
        Sqe* sqe = &_sqes[_sqLocalTail & _sqMask];
        *sqe = default;
        _sqLocalTail++;
        return sqe;
    }

    /// <summary>A receive into one of the provided buffers, taken when data arrives.</summary>
    public void PrepareReceive(int fd, ulong userData)
    {
        Sqe* sqe = NextSqe();
        sqe->Opcode = OpRecv;
        sqe->Fd = fd;
        sqe->Flags = SqeBufferSelect;
        sqe->BufGroup = BufferGroup;
        sqe->UserData = userData;
    }

    /// <summary>A send of <paramref name="length"/> bytes at <paramref name="data"/> (which must stay put until it completes).</summary>
    public void PrepareSend(int fd, byte* data, int length, ulong userData)
    {
        Sqe* sqe = NextSqe();
        sqe->Opcode = OpSend;
        sqe->Fd = fd;
        sqe->Addr = (ulong)data;
        sqe->Len = (uint)length;
        sqe->OpFlags = MsgNoSignal;
        sqe->UserData = userData;
    }

    /// <summary>A gathered send described by <paramref name="message"/> (kept until it completes).</summary>
    public void PrepareSendMessage(int fd, MsgHdr* message, ulong userData)
    {
        Sqe* sqe = NextSqe();
        sqe->Opcode = OpSendMsg;
        sqe->Fd = fd;
        sqe->Addr = (ulong)message;
        sqe->Len = 1;
        sqe->OpFlags = MsgNoSignal;
        sqe->UserData = userData;
    }

    /// <summary>A read of <paramref name="length"/> bytes into <paramref name="buffer"/> (an eventfd's counter).</summary>
    public void PrepareRead(int fd, byte* buffer, int length, ulong userData)
    {
        Sqe* sqe = NextSqe();
        sqe->Opcode = OpRead;
        sqe->Fd = fd;
        sqe->Addr = (ulong)buffer;
        sqe->Len = (uint)length;
        sqe->UserData = userData;
    }

    /// <summary>A one-shot wait for <paramref name="fd"/> to become readable (a listener with connections waiting).</summary>
    public void PreparePollIn(int fd, ulong userData)
    {
        Sqe* sqe = NextSqe();
        sqe->Opcode = OpPollAdd;
        sqe->Fd = fd;
        sqe->OpFlags = PollIn;
        sqe->UserData = userData;
    }

    /// <summary>Cancels the operation whose user data is <paramref name="target"/>; only a failed cancel posts a completion (<paramref name="userData"/>).</summary>
    public void PrepareCancel(ulong target, ulong userData)
    {
        Sqe* sqe = NextSqe();
        sqe->Opcode = OpAsyncCancel;
        sqe->Fd = -1;
        sqe->Addr = target;
        sqe->Flags = SqeCqeSkipSuccess;
        sqe->UserData = userData;
    }

    /// <summary>
    /// Submits the prepared entries and, with <paramref name="minComplete"/> &gt; 0, sleeps until that many completions
    /// are ready, or at most <paramref name="timeoutNanoseconds"/> when that is not negative.
    /// </summary>
    public void SubmitAndWait(uint minComplete, long timeoutNanoseconds = -1)
    {
        Volatile.Write(ref *_sqTail, _sqLocalTail);
        long* timespec = stackalloc long[2];
        timespec[0] = timeoutNanoseconds / 1_000_000_000;
        timespec[1] = timeoutNanoseconds % 1_000_000_000;
        GetEventsArg argument = default;
        argument.Timespec = (ulong)timespec;
        bool timed = timeoutNanoseconds >= 0 && minComplete > 0;
        while (true)
        {
            uint toSubmit = _sqLocalTail - _sqSubmitted;
            int result = timed
                ? Enter(_fd, toSubmit, minComplete, EnterGetEvents | EnterExtArg, &argument, sizeof(GetEventsArg))
                : Enter(_fd, toSubmit, minComplete, EnterGetEvents);
            if (result >= 0)
            {
                _sqSubmitted += (uint)result;
                if (_sqSubmitted == _sqLocalTail)
                {
                    return;
                }
                continue;
            }
            int error = Native.LastError;
            if (error == Native.EINTR)
            {
                continue;
            }
            if (error is Native.EAGAIN or EBUSY or ETIME)
            {
                return;
            }
            throw new SocketException(error, "io_uring_enter");
        }
    }

    /// <summary>Takes the next completion, if one is ready.</summary>
    public bool TryTake(out ulong userData, out int result, out uint flags)
    {
        uint head = *_cqHead;
        if (head == Volatile.Read(ref *_cqTail))
        {
            userData = 0;
            result = 0;
            flags = 0;
            return false;
        }
        Cqe* cqe = &_cqes[head & _cqMask];
        userData = cqe->UserData;
        result = cqe->Res;
        flags = cqe->Flags;
        Volatile.Write(ref *_cqHead, head + 1);
        return true;
    }

    /// <summary>The bytes of provided buffer <paramref name="id"/>.</summary>
    public byte* Buffer(ushort id) => _buffers + (nint)id * BufferSize;

    /// <summary>Gives buffer <paramref name="id"/> back to the kernel (visible after <see cref="PublishBuffers"/>).</summary>
    public void AddBuffer(ushort id)
    {
        Buf* entry = &_bufRing[_bufTail & _bufMask];
        entry->Addr = (ulong)Buffer(id);
        entry->Len = (uint)BufferSize;
        entry->Bid = id;
        _bufTail++;
    }

    public void PublishBuffers() => Volatile.Write(ref *(ushort*)((byte*)_bufRing + BufRingTailOffset), _bufTail);

    public void Dispose()
    {
        if (_sqes is not null)
        {
            munmap(_sqes, _sqesSize);
        }
        if (_rings is not null)
        {
            munmap(_rings, _ringsSize);
        }
        if (_fd >= 0)
        {
            Native.close(_fd);
        }
        NativeMemory.AlignedFree(_bufRing);
        NativeMemory.AlignedFree(_buffers);
    }

    private byte* Map(nuint size, long offset)
    {
        void* at = mmap(null, size, ProtRead | ProtWrite, MapShared | MapPopulate, _fd, offset);
        if (at == (void*)-1)
        {
            throw new SocketException(Native.LastError, "mmap(io_uring)");
        }
        return (byte*)at;
    }
}
