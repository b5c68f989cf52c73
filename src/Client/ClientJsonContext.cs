using System.Text.Json.Serialization;

namespace Engine.Client;

/// <summary>Source-generated JSON (trim and AOT safe).</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
