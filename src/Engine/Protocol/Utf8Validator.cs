using System.Text.Unicode;

namespace Engine.Protocol;

/// <summary>
/// Incremental UTF-8 validation for a message that arrives in pieces (fragments, or a frame split across reads).
/// RFC 6455 §8.1: invalid UTF-8 fails the connection; we fail as soon as the bytes seen so far cannot start
/// valid UTF-8, not only at the end (Autobahn 6.4.x "fail fast"). The bulk work is the framework's vectorized
/// <see cref="Utf8.IsValid(ReadOnlySpan{byte})"/>; this type only carries a split sequence across chunk boundaries.
/// </summary>
internal struct Utf8Validator
{
    // Up to 3 bytes of a sequence that the previous chunk cut off, and the length that sequence needs.
    private uint _pending;
    private byte _pendingCount;
    private byte _pendingNeeded;

    /// <summary>True when no sequence is left open: the message may end here.</summary>
    public readonly bool IsComplete => _pendingCount == 0;

    public void Reset()
    {
        _pending = 0;
        _pendingCount = 0;
        _pendingNeeded = 0;
    }

    /// <summary>Validates the next chunk. Returns false as soon as the bytes so far are not a prefix of valid UTF-8.</summary>
    public bool Append(ReadOnlySpan<byte> chunk)
    {
        if (_pendingCount != 0)
        {
            Span<byte> sequence = stackalloc byte[4];
            for (int k = 0; k < _pendingCount; k++)
            {
                sequence[k] = (byte)(_pending >> (8 * k));
            }
            int count = _pendingCount;
            int take = Math.Min(_pendingNeeded - count, chunk.Length);
            chunk.Slice(0, take).CopyTo(sequence.Slice(count));
            count += take;
            chunk = chunk.Slice(take);
            if (count < _pendingNeeded)
            {
                if (!IsValidPrefix(sequence.Slice(0, count)))
                {
                    return false;
                }
                Store(sequence.Slice(0, count), _pendingNeeded);
                return true;
            }
            if (!Utf8.IsValid(sequence.Slice(0, count)))
            {
                return false;
            }
            Reset();
        }

        int tailStart = IncompleteTailStart(chunk, out int needed);
        if (!Utf8.IsValid(chunk.Slice(0, tailStart)))
        {
            return false;
        }
        if (tailStart == chunk.Length)
        {
            return true;
        }
        ReadOnlySpan<byte> tail = chunk.Slice(tailStart);
        if (!IsValidPrefix(tail))
        {
            return false;
        }
        Store(tail, needed);
        return true;
    }

    private void Store(ReadOnlySpan<byte> partial, int needed)
    {
        uint value = 0;
        for (int k = 0; k < partial.Length; k++)
        {
            value |= (uint)partial[k] << (8 * k);
        }
        _pending = value;
        _pendingCount = (byte)partial.Length;
        _pendingNeeded = (byte)needed;
    }

    /// <summary>
    /// Where a multi-byte sequence that runs past the end of <paramref name="chunk"/> starts, or chunk.Length when none does.
    /// Only the last 3 bytes can hold such a start.
    /// </summary>
    private static int IncompleteTailStart(ReadOnlySpan<byte> chunk, out int needed)
    {
        needed = 0;
        int lowest = Math.Max(0, chunk.Length - 3);
        for (int i = chunk.Length - 1; i >= lowest; i--)
        {
            byte b = chunk[i];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte: keep looking for its lead
            }
            int length = SequenceLength(b);
            if (length > chunk.Length - i)
            {
                needed = length;
                return i;
            }
            break;
        }
        return chunk.Length;
    }

    /// <summary>The sequence length a lead byte announces, or 0 for bytes that never lead a valid sequence.</summary>
    private static int SequenceLength(byte lead) => lead switch
    {
        < 0x80 => 1,
        >= 0xC2 and <= 0xDF => 2,
        >= 0xE0 and <= 0xEF => 3,
        >= 0xF0 and <= 0xF4 => 4,
        _ => 0,
    };

    /// <summary>
    /// Whether 1 to 3 bytes can begin a valid sequence (RFC 3629 §4 table: the second byte's range depends on the lead,
    /// which rules out overlongs, surrogates and code points above U+10FFFF before the sequence is complete).
    /// </summary>
    private static bool IsValidPrefix(ReadOnlySpan<byte> partial)
    {
        byte lead = partial[0];
        if (SequenceLength(lead) <= partial.Length)
        {
            return false;
        }
        if (partial.Length >= 2)
        {
            byte second = partial[1];
            (byte low, byte high) = lead switch
            {
                0xE0 => ((byte)0xA0, (byte)0xBF),
                0xED => ((byte)0x80, (byte)0x9F),
                0xF0 => ((byte)0x90, (byte)0xBF),
                0xF4 => ((byte)0x80, (byte)0x8F),
                _ => ((byte)0x80, (byte)0xBF),
            };
            if (second < low || second > high)
            {
                return false;
            }
        }
        if (partial.Length == 3 && (partial[2] & 0xC0) != 0x80)
        {
            return false;
        }
        return true;
    }
}
