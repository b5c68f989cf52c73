namespace Engine.Client;

/// <summary>File requests: <c>request-file</c>, then <c>file-meta</c> and <c>03</c> data frames, served in request order.</summary>
public sealed partial class EngineClient
{
    private static readonly HashSet<string> FileErrors = new(StringComparer.Ordinal)
    {
        "file transfer disabled", "invalid file name", "file is outside the files directory", "not a file",
        "file not found", "file changed during transfer",
    };

    private readonly Queue<FileRequest> _fileRequests = new();
    private FileRequest? _activeFile;

    /// <summary>Requests a file from the Host's files directory; <paramref name="progress"/> gets (received, size) after every chunk.</summary>
    public async Task<byte[]> RequestFileAsync(string name, IProgress<(long Received, long Size)>? progress = null, CancellationToken cancellationToken = default)
    {
        var request = new FileRequest(name, progress);
        lock (_fileRequests)
        {
            _fileRequests.Enqueue(request);
        }
        try
        {
            await SendAsync(Opcode.Text, HostProtocol.Message("request-file", "name", name)).ConfigureAwait(false);
        }
        catch (EngineClientException)
        {
            lock (_fileRequests)
            {
                FileRequest[] others = [.. _fileRequests.Where(r => r != request)];
                _fileRequests.Clear();
                foreach (FileRequest other in others)
                {
                    _fileRequests.Enqueue(other);
                }
            }
            throw;
        }
        return await request.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OnFileMeta(string name, long size)
    {
        FileRequest? request;
        lock (_fileRequests)
        {
            _fileRequests.TryDequeue(out request);
            _activeFile = request;
        }
        if (request is null)
        {
            return;
        }
        request.Start(size);
        if (size == 0)
        {
            CompleteFile(request);
        }
    }

    private void OnFileData(ReadOnlySpan<byte> data)
    {
        FileRequest? request = _activeFile;
        if (request is not null && request.Append(data))
        {
            CompleteFile(request);
        }
    }

    private void CompleteFile(FileRequest request)
    {
        lock (_fileRequests)
        {
            _activeFile = null;
        }
        request.Completion.TrySetResult(request.Data!);
    }

    private void OnServerError(string message)
    {
        if (!FileErrors.Contains(message) && !message.StartsWith("too many file requests", StringComparison.Ordinal))
        {
            return;
        }
        FileRequest? request;
        lock (_fileRequests)
        {
            _fileRequests.TryDequeue(out request);
        }
        request?.Completion.TrySetException(new EngineClientException(EngineClientErrorKind.File, message));
    }

    private void FailFiles(EngineClientException error)
    {
        List<FileRequest> pending = [];
        lock (_fileRequests)
        {
            if (_activeFile is not null)
            {
                pending.Add(_activeFile);
                _activeFile = null;
            }
            pending.AddRange(_fileRequests);
            _fileRequests.Clear();
        }
        foreach (FileRequest request in pending)
        {
            request.Completion.TrySetException(error);
        }
    }

    private sealed class FileRequest(string name, IProgress<(long Received, long Size)>? progress)
    {
        private long _received;

        public string Name { get; } = name;

        public byte[]? Data { get; private set; }

        public TaskCompletionSource<byte[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Start(long size)
        {
            Data = new byte[size];
            progress?.Report((0, size));
        }

        /// <summary>Appends a chunk; true when the file is complete.</summary>
        public bool Append(ReadOnlySpan<byte> chunk)
        {
            int take = (int)Math.Min(chunk.Length, Data!.Length - _received);
            chunk.Slice(0, take).CopyTo(Data.AsSpan((int)_received));
            _received += take;
            progress?.Report((_received, Data.Length));
            return _received >= Data.Length;
        }
    }
}
