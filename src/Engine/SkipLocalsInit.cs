// Stack buffers on the hot path (the writev vector array per flush, frame headers, control payloads) are always
// written before they are read: zeroing them first was a measurable share of the broadcast flush (memset in perf).
[module: System.Runtime.CompilerServices.SkipLocalsInit]
