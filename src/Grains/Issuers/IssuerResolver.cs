using Notary.Grains.Abstractions.Ports;

namespace Notary.Grains.Issuers;

/// <summary>Resolves spec.issuer against the configured issuers; an unset name means the default.</summary>
public sealed class IssuerResolver : IIssuerResolver
{
    private readonly Dictionary<string, ICertificateIssuer> _issuers;
    private readonly string _defaultName;

    public IssuerResolver(IEnumerable<ICertificateIssuer> issuers, string defaultName)
    {
        _issuers = issuers.ToDictionary(i => i.Name, StringComparer.Ordinal);
        if (!_issuers.ContainsKey(defaultName))
        {
            throw new ArgumentException($"The default issuer \"{defaultName}\" is not among the configured issuers ({string.Join(", ", _issuers.Keys)}).", nameof(defaultName));
        }

        _defaultName = defaultName;
    }

    public IReadOnlyList<string> Names => [.. _issuers.Keys.Order(StringComparer.Ordinal)];

    public ICertificateIssuer? Resolve(string? name) => _issuers.GetValueOrDefault(string.IsNullOrEmpty(name) ? _defaultName : name);
}
