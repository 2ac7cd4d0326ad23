using System.Text;
using Notary.Aws.Tests.Support;
using Xunit.Abstractions;
using static Notary.EndToEnd.Tests.Aws.Manifests;

namespace Notary.EndToEnd.Tests.Aws;

/// <summary>
/// ACM and Secrets Manager misbehaving the ways AWS does (throttling, 500 and 503 answers,
/// connections dropped before and after the service did the work, answers slower than the
/// per-attempt timeout) while several services are onboarded at once: everything still ends
/// Ready, without duplicates in AWS, without a retry storm.
/// </summary>
[Collection(AwsCollection.Name)]
[Trait("Category", "Slow")]
public sealed class AwsFaultTests(AwsFixture fx, ITestOutputHelper output)
{
    private const int Services = 4;

    /// <summary>The ACM calls of one fault-free Private issuance: RequestCertificate, DescribeCertificate (moto issues at once), ExportCertificate, AddTagsToCertificate.</summary>
    private static readonly string[] AcmOperations = ["RequestCertificate", "DescribeCertificate", "ExportCertificate", "AddTagsToCertificate"];

    /// <summary>The Secrets Manager calls of one fault-free new store.</summary>
    private static readonly string[] StoreOperations = ["DescribeSecret", "CreateSecret"];

    /// <summary>Longer than the per-attempt timeout: the client abandons the attempt and retries.</summary>
    private static readonly TimeSpan Slow = AwsFixture.RequestTimeout + TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// The plan: for each operation, which of its requests (1 for the first through the proxy, …)
    /// get which fault. Two rules make the outcome deterministic whatever the interleaving of the
    /// concurrent issuances: every index is at most the operation's fault-free request count
    /// (4 per ACM operation: one per certificate; 8 DescribeSecret and CreateSecret: one per
    /// store), so every planned fault is injected; and no operation has more than MaxAttempts - 1
    /// faults, so even if all of them hit the same call in a row, that call's last attempt
    /// passes and no call fails for good.
    /// </summary>
    private static readonly Dictionary<string, Dictionary<int, Fault>> Plan = new()
    {
        ["RequestCertificate"] = new()
        {
            [1] = Fault.Throttle(),
            // ACM creates the certificate but the answer is lost: the retry must get the same one.
            [2] = Fault.DropAfterForward(),
            [4] = Fault.SlowAfterForward(Slow),
        },
        ["DescribeCertificate"] = new() { [1] = Fault.InternalError(), [3] = Fault.DropBeforeForward(), [4] = Fault.SlowBeforeForward(Slow) },
        ["ExportCertificate"] = new() { [1] = Fault.Unavailable(), [2] = Fault.SlowAfterForward(Slow), [3] = Fault.Throttle() },
        ["AddTagsToCertificate"] = new() { [2] = Fault.DropAfterForward(), [3] = Fault.InternalError() },
        ["DescribeSecret"] = new() { [1] = Fault.Throttle(), [3] = Fault.DropBeforeForward(), [6] = Fault.SlowBeforeForward(Slow) },
        // The secret is created but the answer is lost: the retry (same ClientRequestToken) must not fail.
        ["CreateSecret"] = new() { [1] = Fault.DropAfterForward(), [3] = Fault.InternalError(), [5] = Fault.SlowAfterForward(Slow) },
    };

    private Task<string> ApplyAsync(string yaml) => fx.OkAsync("apply", "-f", fx.WriteText(Guid.NewGuid().ToString("N") + ".yaml", yaml));

    [Fact]
    public async Task Throttling_errors_dropped_connections_and_slow_answers_delay_but_never_break_issuance_nor_multiply_calls()
    {
        Assert.All(Plan.Values, faults => Assert.True(faults.Count <= AwsFixture.MaxAttempts - 1));
        var ns = UniqueNamespace("aws-faults");
        var names = Enumerable.Range(1, Services).Select(i => $"svc{i}").ToList();
        string Fqdn(string name) => $"{name}.{ns}.svc.cluster.local";

        await fx.OkAsync("create", "namespace", ns);
        fx.Proxy.Reset();
        fx.Proxy.Plan = FaultPlan.From((operation, operationRequest, _) =>
            Plan.TryGetValue(operation, out var faults) && faults.TryGetValue(operationRequest, out var fault) ? fault : null);
        try
        {
            // Every service trusts the next one: truststores need two certificates each.
            var documents = new List<string> { MetadataSecret(ns) };
            for (var i = 0; i < Services; i++)
            {
                var (name, next) = (names[i], names[(i + 1) % Services]);
                documents.Add(Certificate(ns, name, Fqdn(name)));
                documents.Add(Keystore(ns, $"{name}-keystore", Fqdn(name), name));
                documents.Add(Truststore(ns, $"{name}-truststore", Fqdn(name), name, next, Fqdn(next)));
            }

            await ApplyAsync(All([.. documents]));
            await fx.OkAsync("wait", "--for=condition=Ready", "certificates,keystores,truststores", "--all", "-n", ns, "--timeout=120s");
        }
        finally
        {
            fx.Proxy.Plan = FaultPlan.None;
        }

        var requests = fx.Proxy.Requests;
        var report = Report(requests);
        output.WriteLine(report);

        // Every planned fault was injected.
        foreach (var (operation, faults) in Plan)
        {
            Assert.True(requests.Count(r => r.Operation == operation && r.Fault is not null) == faults.Count, $"{operation}: expected {faults.Count} injected faults\n{report}");
        }

        // One ACM certificate per Certificate, however many times its request was retried.
        var certificates = await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None);
        var arns = new Dictionary<string, string>();
        foreach (var name in names)
        {
            var arn = await fx.OkAsync("get", "cert", name, "-n", ns, "-o", "jsonpath={.status.arn}");
            Assert.Equal(arn, Assert.Single(certificates, c => c.DomainName == Fqdn(name)).CertificateArn);
            arns[name] = arn;
        }

        // AWS calls per issuance. Without faults each certificate costs exactly one attempt of
        // each of the 4 ACM operations. Each injected fault costs at most one more attempt (the
        // client's retry of that call); the doubled fault-free count leaves room for whole-call
        // repeats (a grain step retried), which there should be none of here. So per certificate:
        // attempts <= 2 * 4 + the faults injected into its calls; over all certificates:
        // attempts <= 2 * 4 * Services + the ACM faults the plan holds.
        var acmFaults = AcmOperations.Sum(operation => Plan.TryGetValue(operation, out var faults) ? faults.Count : 0);
        var total = 0;
        foreach (var name in names)
        {
            var mine = requests.Where(r => AcmOperations.Contains(r.Operation) && (r.Resource == Fqdn(name) || r.Resource == arns[name])).ToList();
            var injected = mine.Count(r => r.Fault is not null);
            Assert.True(mine.Count <= (2 * AcmOperations.Length) + injected, $"{name}: {mine.Count} ACM attempts, {injected} of them faulted\n{report}");
            foreach (var operation in AcmOperations)
            {
                Assert.Contains(mine, r => r.Operation == operation && r.Delivered);
            }

            total += mine.Count;
        }

        Assert.True(total <= (2 * AcmOperations.Length * Services) + acmFaults, $"{total} ACM attempts for {Services} certificates with {acmFaults} planned faults\n{report}");
        Assert.Equal(total, requests.Count(r => AcmOperations.Contains(r.Operation)));

        // The same reasoning for the stores: a new store costs DescribeSecret (not found) and
        // CreateSecret; 2 stores per service.
        var storeFaults = StoreOperations.Sum(operation => Plan[operation].Count);
        // By name (DescribeSecret, CreateSecret) or by ARN (PutSecretValue, TagResource), which holds the name.
        var storeAttempts = requests.Count(r => r.Resource?.Contains($"notary/{ns}/", StringComparison.Ordinal) == true);
        Assert.True(storeAttempts <= (2 * StoreOperations.Length * 2 * Services) + storeFaults, $"{storeAttempts} Secrets Manager attempts for {2 * Services} stores with {storeFaults} planned faults\n{report}");
        Assert.Equal(storeAttempts, requests.Count(r => !AcmOperations.Contains(r.Operation)));

        // No call was attempted more than MaxAttempts times: the attempts of one call carry the
        // same body, and a call ends with an answer passed on to the client.
        foreach (var call in requests.Where(r => r.BodyDigest is not null).GroupBy(r => (r.Operation, r.BodyDigest)))
        {
            var inARow = 0;
            foreach (var attempt in call.OrderBy(r => r.Number))
            {
                inARow++;
                Assert.True(inARow <= AwsFixture.MaxAttempts, $"{call.Key.Operation} attempted {inARow} times in a row\n{report}");
                if (attempt.Delivered)
                {
                    inARow = 0;
                }
            }
        }

        // Clean up with the proxy out of the way; deletion removes what AWS holds.
        await fx.OkAsync("delete", "truststores,keystores,certificates", "--all", "-n", ns, "--timeout=90s");
        var left = await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None);
        Assert.DoesNotContain(left, c => arns.ContainsValue(c.CertificateArn!));
    }

    /// <summary>What went through the proxy, per operation, for failure messages.</summary>
    private static string Report(IReadOnlyList<ProxiedRequest> requests)
    {
        var text = new StringBuilder();
        foreach (var operation in requests.GroupBy(r => r.Operation))
        {
            text.Append(operation.Key).Append(": ").Append(operation.Count()).Append(" attempts, ")
                .Append(operation.Count(r => r.Fault is not null)).Append(" faulted, ")
                .Append(operation.Count(r => r.Delivered)).AppendLine(" delivered");
        }

        return text.ToString();
    }
}
