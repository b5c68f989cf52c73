using Host;

namespace Engine.Tests.HostApp;

/// <summary>WS_TLS_CERT / WS_TLS_KEY: read from PEM files made at test time.</summary>
public sealed class TlsSettingsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("engine-tls-settings-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static HostSettings Parse(Dictionary<string, string> env) =>
        HostSettings.Parse([], name => env.TryGetValue(name, out string? value) ? value : null);

    [Fact]
    public void Both_files_turn_TLS_on_with_TLS_1_2_and_1_3()
    {
        using var certificate = TestCertificate.Create();
        (string cert, string key) = certificate.WritePem(_directory);

        HostSettings settings = Parse(new() { ["WS_TLS_CERT"] = cert, ["WS_TLS_KEY"] = key });

        Assert.NotNull(settings.Server.Tls);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13, settings.Server.Tls.EnabledSslProtocols);
        Assert.Equal(certificate.Certificate.GetCertHashString(), settings.Server.Tls.ServerCertificateContext!.TargetCertificate.GetCertHashString());
        Assert.True(settings.Server.Tls.ServerCertificateContext.TargetCertificate.HasPrivateKey);
        Assert.Null(Parse([]).Server.Tls);
    }

    [Fact]
    public void One_without_the_other_or_unreadable_files_are_configuration_errors()
    {
        using var certificate = TestCertificate.Create();
        (string cert, string key) = certificate.WritePem(_directory);
        using var other = TestCertificate.Create();
        string otherKey = Path.Combine(_directory, "other.key");
        File.WriteAllText(otherKey, other.Key.ExportPkcs8PrivateKeyPem());

        Assert.Throws<FormatException>(() => Parse(new() { ["WS_TLS_CERT"] = cert }));
        Assert.Throws<FormatException>(() => Parse(new() { ["WS_TLS_KEY"] = key }));
        Assert.Throws<FormatException>(() => Parse(new() { ["WS_TLS_CERT"] = Path.Combine(_directory, "missing.crt"), ["WS_TLS_KEY"] = key }));
        Assert.Throws<FormatException>(() => Parse(new() { ["WS_TLS_CERT"] = key, ["WS_TLS_KEY"] = key }));
        Assert.Throws<FormatException>(() => Parse(new() { ["WS_TLS_CERT"] = cert, ["WS_TLS_KEY"] = otherKey }));
    }
}
