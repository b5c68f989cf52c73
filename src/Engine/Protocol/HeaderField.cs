namespace Engine.Protocol;

internal readonly record struct HeaderField(Slice Name, Slice Value);
