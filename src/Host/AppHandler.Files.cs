using System.Buffers;
using Engine;

namespace Host;

/// <summary>
/// File transfer: <c>request-file</c> streams a file from the files directory as <c>file-meta</c> and then binary
/// frames of <see cref="AppOptions.FileChunkSize"/>, each read only when the connection's send queue has drained below
/// a low-water mark, so memory stays flat whatever the file size.
/// </summary>
public sealed partial class AppHandler
{
    private const int MaxQueuedFiles = 16;
    private readonly FileResolver? _files;

    private void RequestFile(AppConnection state, string name)
    {
        if (_files is null)
        {
            Metrics.FileFailed();
            Outgoing.Error(state.Connection, "file transfer disabled");
            return;
        }
        // Requests of one connection are served one after the other, in request order (answers included), on one task:
        // the frames of two files never interleave, and a request arriving as the previous transfer ends is not refused.
        bool start = false;
        bool full = false;
        lock (state)
        {
            if (state.FileRequests is null)
            {
                state.FileRequests = new Queue<string>();
                start = true;
            }
            full = state.FileRequests.Count >= MaxQueuedFiles;
            if (!full)
            {
                state.FileRequests.Enqueue(name);
            }
        }
        if (full)
        {
            Metrics.FileFailed();
            Outgoing.Error(state.Connection, $"too many file requests (at most {MaxQueuedFiles} queued)");
        }
        else if (start)
        {
            // File system work and reads happen on the thread pool: callbacks run on I/O threads and must not block.
            _ = Task.Run(() => ServeFilesAsync(state, _files));
        }
    }

    private async Task ServeFilesAsync(AppConnection state, FileResolver files)
    {
        while (true)
        {
            string name;
            lock (state)
            {
                if (!state.FileRequests!.TryDequeue(out name!))
                {
                    state.FileRequests = null;
                    return;
                }
            }
            try
            {
                await TransferAsync(state.Connection, name, files).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is UnauthorizedAccessException or IOException or ObjectDisposedException)
            {
                Metrics.FileFailed();
                Outgoing.Error(state.Connection, "file could not be read");
            }
        }
    }

    private async Task TransferAsync(WebSocketConnection connection, string name, FileResolver files)
    {
        byte[]? buffer = null;
        try
        {
            using FileStream? file = Open(files, name, out string? error);
            if (file is null)
            {
                Metrics.FileFailed();
                Outgoing.Error(connection, error!);
                return;
            }
            long size = file.Length;
            Outgoing.Send(connection, new FileMetaMessage(name, size), AppJsonContext.Default.FileMetaMessage);

            long maxBuffered = connection.Server.Options.MaxBufferedBytes;
            int chunk = (int)Math.Min(_options.FileChunkSize, Math.Max(1024, maxBuffered / 4));
            // Refill when at most a few chunks are queued: enough to keep the socket busy, far below the send limit.
            long lowWater = Math.Clamp(maxBuffered - (2L * (chunk + 16)), 0, 4L * chunk);
            buffer = ArrayPool<byte>.Shared.Rent(chunk + 1);
            buffer[0] = BinaryEnvelope.FileChunk;
            long remaining = size;
            while (remaining > 0)
            {
                await connection.WhenBufferedBelowAsync(lowWater).ConfigureAwait(false);
                int read = await file.ReadAsync(buffer.AsMemory(1, (int)Math.Min(chunk, remaining))).ConfigureAwait(false);
                if (read == 0)
                {
                    Metrics.FileFailed();
                    Outgoing.Error(connection, "file changed during transfer");
                    return;
                }
                if (connection.Send(buffer.AsSpan(0, read + 1), MessageType.Binary) != SendStatus.Queued)
                {
                    return; // closing, or over the send limit under the slow-consumer policy
                }
                remaining -= read;
                Metrics.FileBytes(read);
            }
            Metrics.FileSent();
        }
        catch (InvalidOperationException)
        {
            // The connection ended while we waited for its queue to drain.
        }
        catch (IOException)
        {
            Metrics.FileFailed();
            Outgoing.Error(connection, "file could not be read");
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static FileStream? Open(FileResolver files, string name, out string? error)
    {
        if (!FileResolver.IsPlainRelative(name))
        {
            error = "invalid file name";
            return null;
        }
        string? path = files.Resolve(name);
        if (path is null)
        {
            error = "file is outside the files directory";
            return null;
        }
        if (Directory.Exists(path))
        {
            error = "not a file";
            return null;
        }
        if (!File.Exists(path))
        {
            error = "file not found";
            return null;
        }
        FileStream file;
        try
        {
            file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read,
                BufferSize = 0, // we read whole chunks; a FileStream buffer would only add a copy
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            error = "file not found";
            return null;
        }
        // Between the check and the open a component could have been swapped for a symlink: on Linux, ask the kernel
        // what was actually opened.
        if (OperatingSystem.IsLinux()
            && new FileInfo($"/proc/self/fd/{file.SafeFileHandle.DangerousGetHandle()}").LinkTarget is { } opened
            && !files.IsInside(opened))
        {
            file.Dispose();
            error = "file is outside the files directory";
            return null;
        }
        error = null;
        return file;
    }
}
