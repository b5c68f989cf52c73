using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Engine.Tests.Support;

/// <summary>A self-signed server certificate made at test time (nothing checked in), and a client-side check that trusts exactly it.</summary>
internal sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        Key = key;
    }

    /// <summary>The certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public ECDsa Key { get; }

    /// <summary>Trusts this certificate only: the chain is untrusted (self-signed), so nothing else would pass.</summary>
    public RemoteCertificateValidationCallback Validator =>
        (_, presented, _, _) => presented is not null && presented.GetCertHashString() == Certificate.GetCertHashString();

    public static TestCertificate Create()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return new TestCertificate(certificate, key);
    }

    /// <summary>Writes the certificate and its PKCS#8 key as PEM files into <paramref name="directory"/>.</summary>
    public (string CertificatePath, string KeyPath) WritePem(string directory)
    {
        string certificatePath = Path.Combine(directory, "server.crt");
        string keyPath = Path.Combine(directory, "server.key");
        File.WriteAllText(certificatePath, Certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, Key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    /// <summary>Server options presenting this certificate.</summary>
    public SslServerAuthenticationOptions ServerOptions(System.Security.Authentication.SslProtocols protocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(Certificate, null, offline: true),
        EnabledSslProtocols = protocols,
    };

    public void Dispose()
    {
        Certificate.Dispose();
        Key.Dispose();
    }
}
