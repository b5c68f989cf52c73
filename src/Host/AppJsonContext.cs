using System.Text.Json.Serialization;

namespace Host;

/// <summary>Source-generated serializers (no reflection: trim- and AOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, GenerationMode = JsonSourceGenerationMode.Default)]
[JsonSerializable(typeof(ConnectedMessage))]
[JsonSerializable(typeof(AuthenticatedMessage))]
[JsonSerializable(typeof(SubscribedMessage))]
[JsonSerializable(typeof(UnsubscribedMessage))]
[JsonSerializable(typeof(PongMessage))]
[JsonSerializable(typeof(ErrorMessage))]
[JsonSerializable(typeof(FileMetaMessage))]
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(ReadinessStatus))]
internal sealed partial class AppJsonContext : JsonSerializerContext;
