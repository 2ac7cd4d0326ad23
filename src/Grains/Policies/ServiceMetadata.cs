using System.Text.Json;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Policies;

/// <summary>A service's store settings from its metadata Secret. ToString never prints the passwords.</summary>
public sealed record ServiceMetadata(
    string TlsStoreRootPath,
    string? TlsKeyStoreName,
    string? TlsTrustStoreName,
    string TlsKeyStorePassword,
    string TlsTrustStorePassword)
{
    /// <summary>The secret key under which the JSON document lives.</summary>
    public const string Key = "metadata.json";

    /// <summary>Default name of the metadata Secret when a store names none.</summary>
    public const string DefaultSecretName = "notary-metadata";

    /// <summary>keytool refuses store passwords shorter than this, so Notary does too.</summary>
    public const int MinimumPasswordLength = 6;

    /// <summary>
    /// A salted digest of every field, to tell whether a store must be rebuilt. The salt is
    /// random per store, so equal passwords of two services give different fingerprints.
    /// </summary>
    public string Fingerprint(byte[] salt)
    {
        var text = string.Join('\0', TlsStoreRootPath, TlsKeyStoreName, TlsTrustStoreName, TlsKeyStorePassword, TlsTrustStorePassword);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return Convert.ToHexString(System.Security.Cryptography.HMACSHA256.HashData(salt, bytes));
    }

    public override string ToString() =>
        $"ServiceMetadata {{ TlsStoreRootPath = {TlsStoreRootPath}, TlsKeyStoreName = {TlsKeyStoreName}, TlsTrustStoreName = {TlsTrustStoreName} }}";

    /// <summary>
    /// Parses the metadata Secret's content into settings, or a problem naming the Secret and the
    /// field at fault. Messages never quote values (they may be passwords).
    /// </summary>
    public static (ServiceMetadata? Metadata, Problem? Problem) Parse(MetadataSecretContent content, string @namespace, string secretName)
    {
        var where = $"Secret {@namespace}/{secretName}";
        if (!content.SecretExists)
        {
            return Fail(Reasons.MetadataSecretMissing, $"{where} does not exist; create it with key {Key} to onboard the service.");
        }

        if (string.IsNullOrWhiteSpace(content.MetadataJson))
        {
            return Fail(Reasons.MetadataMissing, $"{where} has no key {Key}.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(content.MetadataJson);
        }
        catch (JsonException ex)
        {
            // The parser's message names the position only, never the text.
            return Fail(Reasons.MetadataMalformed, $"{where} key {Key} is not valid JSON (line {ex.LineNumber + 1}, position {ex.BytePositionInLine + 1}).");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Fail(Reasons.MetadataMalformed, $"{where} key {Key} must hold a JSON object.");
            }

            var root = document.RootElement;
            var problems = new List<string>();
            var rootPath = Field(root, "tlsStoreRootPath", required: true, problems);
            var keyStoreName = Field(root, "tlsKeyStoreName", required: false, problems);
            var trustStoreName = Field(root, "tlsTrustStoreName", required: false, problems);
            var keyStorePassword = Field(root, "tlsKeyStorePassword", required: true, problems);
            var trustStorePassword = Field(root, "tlsTrustStorePassword", required: true, problems);
            CheckPassword("tlsKeyStorePassword", keyStorePassword, problems);
            CheckPassword("tlsTrustStorePassword", trustStorePassword, problems);
            CheckFileName("tlsKeyStoreName", keyStoreName, problems);
            CheckFileName("tlsTrustStoreName", trustStoreName, problems);
            if (problems.Count > 0)
            {
                return Fail(Reasons.MetadataMalformed, $"{where} key {Key}: {string.Join("; ", problems)}.");
            }

            return (new ServiceMetadata(rootPath!, keyStoreName, trustStoreName, keyStorePassword!, trustStorePassword!), null);
        }

        static (ServiceMetadata?, Problem?) Fail(string reason, string message) => (null, new Problem(reason, message));
    }

    private static string? Field(JsonElement root, string name, bool required, List<string> problems)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                problems.Add($"{name} is missing");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{name} must be a string");
            return null;
        }

        var text = value.GetString();
        if (string.IsNullOrEmpty(text))
        {
            if (required)
            {
                problems.Add($"{name} is empty");
            }

            return null;
        }

        return text;
    }

    private static void CheckPassword(string name, string? password, List<string> problems)
    {
        if (password is not null && password.Length < MinimumPasswordLength)
        {
            problems.Add($"{name} is shorter than {MinimumPasswordLength} characters (keytool refuses such stores)");
        }
    }

    private static void CheckFileName(string name, string? fileName, List<string> problems)
    {
        // The file name becomes a Secret key: [-._a-zA-Z0-9]+, and must not be a path.
        if (fileName is not null && (fileName.Length > 253 || !fileName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || fileName is "." or ".."))
        {
            problems.Add($"{name} must be a file name of letters, digits, '-', '_' and '.' (it becomes a Secret key)");
        }
    }
}
