using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Autorest;
using Notary.Cli.Inspect;
using Notary.Cli.Kube;
using Notary.CustomResources;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions.Ports;
using Notary.Grains.Policies;

namespace Notary.Cli.Commands;

/// <summary>
/// <c>inspect secret NAME</c>: decodes a store Secret Notary wrote. Each certificate it holds
/// (store entries with their alias, PEM keys) with subject, SANs, issuer, validity and SHA-256
/// fingerprint. PKCS#12 and JKS stores are opened with the password from the service's metadata
/// Secret (the one the Keystore or Truststore of the Secret's name names; SPEC "The per-service
/// metadata Secret"). Never prints a private key or a password: a key is only said to be there.
/// </summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var inspect = new Command("inspect", "Decodes what Notary stored, without printing keys or passwords.");
        var secret = new Command("secret", "Decodes a keystore or truststore Secret: each entry's alias, subject, SANs, issuer, validity and SHA-256 fingerprint (PKCS12/JKS opened with the password from the service's metadata Secret). Never prints a key or a password.");
        ShowCommand.Create(secret, "The Secret's name (a Keystore's or Truststore's name: the Secret Notary wrote for it).", GatherAsync, Human, async view =>
        {
            if (view.Keys.FirstOrDefault(k => k.Problem is not null) is { } failed)
            {
                await Console.Error.WriteLineAsync($"error: {view.Namespace}/{view.Name} key {failed.Key}: {failed.Problem}");
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        });
        inspect.Subcommands.Add(secret);
        return inspect;
    }

    public static async Task<SecretView> GatherAsync(NotaryApi api, string ns, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(api);
        k8s.Models.V1Secret secret;
        try
        {
            secret = await api.Client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            throw new CliFailureException($"Error from server (NotFound): secrets \"{name}\" not found in namespace {ns}");
        }

        // Whose store it is decides which password opens it and where that password is kept.
        var keystore = await api.FindAsync<Keystore>(NotaryResources.KeystorePlural, ns, name, cancellationToken);
        var truststore = keystore is null ? await api.FindAsync<Truststore>(NotaryResources.TruststorePlural, ns, name, cancellationToken) : null;
        var owner = keystore is not null ? $"Keystore {ns}/{name}" : truststore is not null ? $"Truststore {ns}/{name}" : null;
        var metadataSecret = keystore?.Spec.MetadataSecret ?? truststore?.Spec.MetadataSecret ?? ServiceMetadata.DefaultSecretName;
        var (metadata, metadataProblem) = await MetadataAsync(api, ns, metadataSecret, cancellationToken);
        string[] passwords = metadata is null ? []
            : keystore is not null ? [metadata.TlsKeyStorePassword]
            : truststore is not null ? [metadata.TlsTrustStorePassword]
            : [metadata.TlsKeyStorePassword, metadata.TlsTrustStorePassword];

        var keys = new List<SecretKeyView>();
        foreach (var (key, value) in (secret.Data ?? new Dictionary<string, byte[]>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            keys.Add(Decode(key, value, passwords, metadataProblem));
        }

        return new SecretView
        {
            Name = name,
            Namespace = ns,
            Owner = owner,
            ManagedByNotary = secret.Metadata?.Labels?.TryGetValue(SecretLabels.ManagedBy, out var managedBy) == true && managedBy == SecretLabels.ManagedByValue,
            MetadataSecret = $"{ns}/{metadataSecret}",
            Keys = keys,
        };
    }

    private static async Task<(ServiceMetadata? Metadata, string? Problem)> MetadataAsync(NotaryApi api, string ns, string name, CancellationToken cancellationToken)
    {
        MetadataSecretContent content;
        try
        {
            var secret = await api.Client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken);
            content = new MetadataSecretContent(true, secret.Data?.TryGetValue(ServiceMetadata.Key, out var json) == true ? Encoding.UTF8.GetString(json) : null);
        }
        catch (HttpOperationException ex) when (ex.IsNotFound())
        {
            content = new MetadataSecretContent(false, null);
        }
        catch (HttpOperationException ex)
        {
            return (null, $"cannot read metadata Secret {ns}/{name} for the store password: {CliAction.Describe(ex)}");
        }

        // The product's own parser: the same checks, and messages that never quote a value.
        var (metadata, problem) = ServiceMetadata.Parse(content, ns, name);
        return (metadata, problem is null ? null : $"no store password: {problem.Message}");
    }

    private static SecretKeyView Decode(string key, byte[] value, string[] passwords, string? passwordProblem)
    {
        if (key == ServiceMetadata.Key)
        {
            return new SecretKeyView(key, "service metadata (holds the store passwords: not shown)", [], null);
        }

        var text = LooksLikeText(value) ? Encoding.UTF8.GetString(value) : null;
        if (text is not null && text.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            return new SecretKeyView(key, "PEM private key (not shown)", [], null);
        }

        if (text is not null && text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            var collection = new X509Certificate2Collection();
            collection.ImportFromPem(text);
            return new SecretKeyView(key, $"PEM, {collection.Count} certificate(s)", [.. collection.Select((c, i) => Entry($"#{i + 1}", "certificate", c, 1))], null);
        }

        if (text is not null)
        {
            return new SecretKeyView(key, $"text, {value.Length} bytes (not a store: not shown)", [], null);
        }

        var format = StoreReader.IsJks(value) ? "JKS" : "PKCS12";
        if (passwords.Length == 0)
        {
            return new SecretKeyView(key, format, [], passwordProblem ?? "no store password");
        }

        string? lastProblem = null;
        foreach (var password in passwords)
        {
            try
            {
                var entries = StoreReader.Read(value, password);
                return new SecretKeyView(key, $"{format}, {entries.Count} entr{(entries.Count == 1 ? "y" : "ies")}", [.. entries.Select(e => Entry(e.Alias, e.Kind, e.Certificate, e.ChainLength))], null);
            }
            catch (InvalidDataException ex)
            {
                lastProblem = ex.Message;
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                lastProblem = $"cannot open it: {ex.Message}";
            }
        }

        return new SecretKeyView(key, format, [], lastProblem);
    }

    private static bool LooksLikeText(byte[] value) => value.Length > 0 && value.All(b => b is (>= 0x20 and < 0x7f) or (byte)'\n' or (byte)'\r' or (byte)'\t');

    private static EntryView Entry(string alias, string kind, X509Certificate2 certificate, int chainLength)
    {
        using (certificate)
        {
            var sans = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).ToList();
            return new EntryView(
                alias,
                kind,
                certificate.Subject,
                sans,
                certificate.Issuer,
                new DateTimeOffset(certificate.NotBefore.ToUniversalTime()),
                new DateTimeOffset(certificate.NotAfter.ToUniversalTime()),
                certificate.SerialNumber,
                Convert.ToHexString(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c)).Aggregate((a, b) => a + ":" + b),
                kind == StoreReader.PrivateKeyEntry ? chainLength : null,
                kind == StoreReader.PrivateKeyEntry ? true : null);
        }
    }

    public static string Human(SecretView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var text = new StringBuilder();
        text.AppendLine($"Secret {view.Namespace}/{view.Name}{(view.Owner is { } owner ? $" (the store of {owner}" : " (no Keystore or Truststore of this name")}; passwords from Secret {view.MetadataSecret}, never shown)");
        foreach (var key in view.Keys)
        {
            text.AppendLine($"{key.Key}: {key.Format}{(key.Problem is { } problem ? $": {problem}" : "")}");
            foreach (var entry in key.Entries)
            {
                text.AppendLine($"  {entry.Alias}  {entry.Kind}{(entry.HasPrivateKey == true ? $" (a private key, not shown; chain of {entry.ChainLength})" : "")}");
                text.AppendLine($"    Subject:  {entry.Subject}");
                text.AppendLine($"    SANs:     {(entry.Sans.Count == 0 ? "-" : string.Join(", ", entry.Sans))}");
                text.AppendLine($"    Issuer:   {entry.Issuer}");
                text.AppendLine($"    Valid:    {StatusCommand.Time(entry.NotBefore)} to {StatusCommand.Time(entry.NotAfter)}");
                text.AppendLine($"    Serial:   {entry.SerialNumber}");
                text.AppendLine($"    SHA-256:  {entry.Sha256}");
            }
        }

        return text.ToString();
    }
}

/// <summary>What <c>inspect secret</c> prints.</summary>
public sealed record SecretView
{
    public required string Name { get; init; }
    public required string Namespace { get; init; }
    /// <summary>The Keystore or Truststore whose store it is.</summary>
    public string? Owner { get; init; }
    public bool ManagedByNotary { get; init; }
    /// <summary>Where the store passwords come from (never printed).</summary>
    public required string MetadataSecret { get; init; }
    public IReadOnlyList<SecretKeyView> Keys { get; init; } = [];
}

/// <summary>One key of the Secret: its format, the certificates in it, or why it could not be opened.</summary>
public sealed record SecretKeyView(string Key, string Format, IReadOnlyList<EntryView> Entries, string? Problem);

/// <summary>One certificate entry.</summary>
public sealed record EntryView(string Alias, string Kind, string Subject, IReadOnlyList<string> Sans, string Issuer, DateTimeOffset NotBefore, DateTimeOffset NotAfter, string SerialNumber, string Sha256, int? ChainLength, bool? HasPrivateKey);
