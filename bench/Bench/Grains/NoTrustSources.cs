using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Bench.Grains;

/// <summary>
/// The benchmarks' truststores name no trust sources (spec.sources), so the truststore grain never
/// asks; were one to, it would read as missing (SourceInvalid), which a benchmark run would show.
/// </summary>
internal sealed class NoTrustSources : ITrustSourceReader
{
    public Task<TrustSourceContent> ReadAsync(string truststoreNamespace, TrustSourceSpec source, CancellationToken cancellationToken) =>
        Task.FromResult(new TrustSourceContent(TrustSourceReadOutcome.ObjectMissing, null));
}
