using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Host;

/// <summary>Builds the server's TLS options from PEM files (<c>WS_TLS_CERT</c>, <c>WS_TLS_KEY</c>).</summary>
public static class TlsCertificate
{
    /// <summary>
    /// Loads the certificate (the first PEM block of <paramref name="certificatePath"/> is the server's; any further ones
    /// are the intermediates sent with it) and its private key, and returns options allowing TLS 1.2 and 1.3. Throws
    /// <see cref="FormatException"/> naming the file when it cannot be read or the key does not match.
    /// </summary>
    public static SslServerAuthenticationOptions Load(string certificatePath, string keyPath)
    {
        X509Certificate2 leaf;
        var chain = new X509Certificate2Collection();
        try
        {
            leaf = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            if (OperatingSystem.IsWindows())
            {
                // SChannel cannot use a key that only lives in memory; a PKCS#12 round trip gives it a stored one.
                // OpenSSL (Linux) can, so there the loaded certificate is used as is (the Host tests prove it).
                using X509Certificate2 ephemeral = leaf;
                leaf = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
            }
            chain.ImportFromPemFile(certificatePath);
        }
        catch (Exception exception) when (exception is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new FormatException($"WS_TLS_CERT/WS_TLS_KEY: cannot load '{certificatePath}' with key '{keyPath}': {exception.Message}", exception);
        }
        if (!leaf.HasPrivateKey)
        {
            throw new FormatException($"WS_TLS_KEY: '{keyPath}' holds no private key for '{certificatePath}'");
        }
        // The first block is the leaf itself; the rest, if any, is the chain to send.
        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }
        return new SslServerAuthenticationOptions
        {
            // Built once: the chain is resolved here, not on every handshake. offline: no network fetches at startup.
            ServerCertificateContext = SslStreamCertificateContext.Create(leaf, intermediates, offline: true),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
    }
}
