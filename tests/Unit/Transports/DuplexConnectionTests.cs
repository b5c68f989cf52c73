using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Engine.Buffers;
using Engine.Session;
using Engine.Transports;

namespace Engine.Tests.Unit.Transports;

/// <summary>
/// The portable transport's send side, over an in-memory stream that records each write: the frames a broadcast queues
/// one segment each must leave in as few writes as fit a block, byte for byte in order, with every buffer given back.
/// </summary>
public class DuplexConnectionTests
{
    private const int BlockSize = 1024;

    public static TheoryData<int, int, int> Batches => new()
    {
        // frames, frame size, writes expected (frames of one block gathered into one write; a larger one goes alone)
        { 16, 34, 1 },
        { 60, 34, 2 },     // 2,040 bytes: 30 frames fill a 1,024-byte block, the rest the next
        { 3, 600, 3 },     // two of them do not fit one block: each goes alone
        { 1, 34, 1 },
    };

    [Theory]
    [MemberData(nameof(Batches))]
    public async Task Shared_frames_queued_together_leave_in_as_few_writes_as_fit_a_block(int frames, int size, int writes)
    {
        var pool = new BlockPool(BlockSize, 64);
        var shared = new SharedBufferPool(pool, ArrayPool<byte>.Shared, 64);
        var stream = new RecordingStream();
        var connection = new StreamConnection(stream, null, new ConnectionBuffers(pool, SendLists.CreatePool(4), long.MaxValue));
        var handler = new Handler();
        connection.Start(handler);

        // Corked, as during a receive batch: the frames are queued before the one flush that sends them.
        var expected = new List<byte>();
        connection.Output.Cork();
        for (int i = 0; i < frames; i++)
        {
            SharedBuffer frame = shared.Rent(size);
            frame.Span.Fill((byte)i);
            expected.AddRange(frame.Span.ToArray());
            Assert.Equal(EnqueueResult.Queued, connection.Output.TryWrite(frame, long.MaxValue));
            frame.Release();
        }
        Assert.True(connection.Output.Uncork());
        connection.RequestFlush();

        List<byte[]> written = await stream.WaitForBytesAsync(expected.Count);
        Assert.Equal(writes, written.Count);
        Assert.Equal(expected, written.SelectMany(w => w));

        connection.Abort();
        await handler.Closed.Task.WaitAsync(TimeSpan.FromSeconds(30)); // generous: only a hang fails this
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task A_flush_asked_on_a_thread_marked_to_send_starts_the_write_on_it_and_others_go_to_the_thread_pool()
    {
        var pool = new BlockPool(BlockSize, 64);
        var stream = new RecordingStream();
        var connection = new StreamConnection(stream, null, new ConnectionBuffers(pool, SendLists.CreatePool(4), long.MaxValue));
        var handler = new Handler();
        connection.Start(handler);

        // Marked (as the server's timer thread is): the write has happened, on this thread, when the frame is queued.
        (int marked, int[] writersSeen) = OnNewThread(() =>
        {
            DuplexConnection.SendOnThisThread();
            Assert.Equal(EnqueueResult.Queued, connection.Output.TryWrite([0x89, 0x00], default, long.MaxValue, final: false));
            return stream.WriterThreads.ToArray();
        });
        Assert.Equal([marked], writersSeen);

        // Not marked: the flush is a thread-pool work item, so the write happens on another thread.
        (int unmarked, _) = OnNewThread(() =>
            connection.Output.TryWrite([0x8A, 0x00], default, long.MaxValue, final: false));
        await stream.WaitForBytesAsync(4);
        Assert.Equal(2, stream.WriterThreads.Count);
        Assert.NotEqual(unmarked, stream.WriterThreads.Last());

        connection.Abort();
        await handler.Closed.Task.WaitAsync(TimeSpan.FromSeconds(30)); // generous: only a hang fails this
        Assert.Equal(0, pool.Outstanding);
    }

    /// <summary>Runs <paramref name="work"/> on a thread of its own (not the thread pool's): that thread's id and the result.</summary>
    private static (int Thread, T Result) OnNewThread<T>(Func<T> work)
    {
        int id = 0;
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            id = Environment.CurrentManagedThreadId;
            try
            {
                result = work();
            }
            catch (Exception exception)
            {
                failure = exception;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("the thread's work failed", failure);
        }
        return (id, result);
    }

    private sealed class Handler : ITransportHandler
    {
        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsFinished => false;

        public int OnReceived(Span<byte> data) => data.Length;

        public void OnTransportClosed(Exception? error) => Closed.TrySetResult();
    }

    /// <summary>Reads wait until disposed; each write is recorded as one array.</summary>
    private sealed class RecordingStream : Stream
    {
        private readonly Channel<byte[]> _writes = Channel.CreateUnbounded<byte[]>();
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public async Task<List<byte[]>> WaitForBytesAsync(int count)
        {
            var writes = new List<byte[]>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // generous: only a hang fails this
            for (int have = 0; have < count;)
            {
                byte[] write = await _writes.Reader.ReadAsync(timeout.Token);
                writes.Add(write);
                have += write.Length;
            }
            return writes;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _disposed.Task.ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(RecordingStream));
        }

        /// <summary>The managed thread of each write, in order.</summary>
        public ConcurrentQueue<int> WriterThreads { get; } = new();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            WriterThreads.Enqueue(Environment.CurrentManagedThreadId);
            _writes.Writer.TryWrite(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            _disposed.TrySetResult();
            base.Dispose(disposing);
        }
    }
}
