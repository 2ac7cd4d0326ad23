namespace Notary.Grains.Abstractions.Ports;

/// <summary>What the metadata Secret holds, raw: whether it exists and the text under key metadata.json.</summary>
public sealed record MetadataSecretContent(bool SecretExists, string? MetadataJson)
{
    public override string ToString() => $"MetadataSecretContent {{ SecretExists = {SecretExists}, HasMetadata = {MetadataJson is not null} }}";
}

/// <summary>Port: reads a service's metadata Secret (where its stores go, their file names and passwords).</summary>
public interface IServiceMetadataSource
{
    Task<MetadataSecretContent> ReadAsync(string @namespace, string secretName, CancellationToken cancellationToken);
}
