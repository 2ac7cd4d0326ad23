using Notary.Aws.Tests.Support;
using static Notary.EndToEnd.Tests.Aws.Manifests;

namespace Notary.EndToEnd.Tests.Aws;

/// <summary>
/// The production command (<c>run</c>) as a child process against a cluster of its own, with
/// ACM behind a <see cref="FaultProxy"/> in front of the collection's moto: a silo killed between
/// ACM creating a certificate and the silo hearing of it, and credentials from web identity.
/// </summary>
[Collection(AwsCollection.Name)]
[Trait("Category", "Slow")]
public sealed class AwsSiloProcessTests(AwsFixture fx)
{
    private static readonly TimeSpan HookTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// A standby takes over within seconds of the leader's death (production defaults: 15 s),
    /// so the restarted silo does not wait long for the dead one's lease.
    /// </summary>
    private static readonly Dictionary<string, string?> ShortLease = new()
    {
        ["Notary:Watcher:LeaseDuration"] = "00:00:04",
        ["Notary:Watcher:RenewDeadline"] = "00:00:03",
        ["Notary:Watcher:RetryPeriod"] = "00:00:01",
    };

    private Dictionary<string, string?> SiloConfiguration(FaultProxy proxy)
    {
        var configuration = AwsFixture.Configuration(proxy.Url, fx.PrivateCaArn);
        foreach (var (key, value) in ShortLease)
        {
            configuration[key] = value;
        }

        return configuration;
    }

    /// <summary>Moto's fake keys, given explicitly (the test process has them too).</summary>
    private static readonly Dictionary<string, string?> StaticKeys = new()
    {
        ["AWS_ACCESS_KEY_ID"] = MotoServer.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = "moto-test-secret-key",
    };

    [Fact]
    public async Task A_silo_killed_after_ACM_created_the_certificate_is_replaced_and_the_retry_gets_the_same_certificate()
    {
        await using var cluster = await StandaloneCluster.StartAsync();
        await using var proxy = await FaultProxy.StartAsync(fx.Moto.Url);
        var ns = UniqueNamespace("aws-crash");
        var fqdn = $"crash.{ns}.svc.cluster.local";
        var configuration = SiloConfiguration(proxy);

        SiloProcess? first = null;
        var killed = new TaskCompletionSource<ProxiedRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.OnAnswered = request =>
        {
            // ACM has created the certificate; the silo has not heard of it yet, and never will.
            if (request.Operation == "RequestCertificate" && request.Resource == fqdn && !killed.Task.IsCompleted)
            {
                first!.Kill();
                killed.TrySetResult(request);
            }

            return Task.CompletedTask;
        };

        first = SiloProcess.Start(cluster.Kubeconfig, configuration, StaticKeys);
        await using (first)
        {
            await cluster.OkAsync("create", "namespace", ns);
            await cluster.ApplyAsync(Certificate(ns, "crash", fqdn));
            var request = await killed.Task.WaitAsync(HookTimeout);
            Assert.True(first.HasExited);
            Assert.Equal(200, request.UpstreamStatus);
        }

        // ACM did the work the dead silo asked for.
        var created = Assert.Single(await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None), c => c.DomainName == fqdn);

        // A new silo takes over once the dead one's lease expires, asks again with the same
        // idempotency token, and gets that very certificate.
        await using var second = SiloProcess.Start(cluster.Kubeconfig, configuration, StaticKeys);
        var ready = await DevFixture.RunKubectlAsync(cluster.Kubeconfig, Path.Combine(cluster.Root, "kube-cache"), "wait", "--for=condition=Ready", "cert/crash", "-n", ns, "--timeout=90s");
        Assert.True(ready.ExitCode == 0, $"{ready}\n--- silo ---\n{second.RecentOutput}");

        var arn = await cluster.OkAsync("get", "cert", "crash", "-n", ns, "-o", "jsonpath={.status.arn}");
        Assert.Equal(created.CertificateArn, arn);
        var all = await fx.Acm.ListCertificatesAsync(allStatuses: true, CancellationToken.None);
        Assert.Equal(created.CertificateArn, Assert.Single(all, c => c.DomainName == fqdn).CertificateArn);
        var requests = proxy.Requests.Where(r => r.Operation == "RequestCertificate" && r.Resource == fqdn).ToList();
        Assert.True(requests.Count(r => r.UpstreamStatus == 200) >= 2, $"RequestCertificate reached ACM {requests.Count(r => r.UpstreamStatus == 200)} time(s); expected the dead silo's and the retry");
    }

    [Fact]
    public async Task A_silo_with_only_a_web_identity_token_signs_ACM_requests_with_temporary_credentials()
    {
        await using var cluster = await StandaloneCluster.StartAsync();
        await using var proxy = await FaultProxy.StartAsync(fx.Moto.Url);
        var ns = UniqueNamespace("aws-irsa");
        var fqdn = $"irsa.{ns}.svc.cluster.local";
        var token = Path.Combine(cluster.Root, "token");

        // What EKS mounts for IAM roles for service accounts: a projected service account token
        // (any JWT-shaped text satisfies moto's STS), the role, and no keys at all.
        File.WriteAllText(token, "eyJhbGciOiJSUzI1NiIsImtpZCI6Im5vdGFyeSJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bm90YXJ5Om5vdGFyeSIsImF1ZCI6WyJzdHMuYW1hem9uYXdzLmNvbSJdfQ.c2lnbmF0dXJl");
        var environment = new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = null,
            ["AWS_SECRET_ACCESS_KEY"] = null,
            ["AWS_SESSION_TOKEN"] = null,
            ["AWS_PROFILE"] = null,
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(cluster.Root, "no-credentials"),
            ["AWS_CONFIG_FILE"] = Path.Combine(cluster.Root, "no-config"),
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_WEB_IDENTITY_TOKEN_FILE"] = token,
            ["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/notary",
            ["AWS_ROLE_SESSION_NAME"] = "notary-e2e",
            ["AWS_REGION"] = MotoServer.Region,
            // STS through the proxy too, to see the exchange of the token for credentials.
            ["AWS_ENDPOINT_URL_STS"] = proxy.Url.AbsoluteUri.TrimEnd('/'),
        };

        await using var silo = SiloProcess.Start(cluster.Kubeconfig, SiloConfiguration(proxy), environment);
        await cluster.OkAsync("create", "namespace", ns);
        await cluster.ApplyAsync(Certificate(ns, "irsa", fqdn));
        var ready = await DevFixture.RunKubectlAsync(cluster.Kubeconfig, Path.Combine(cluster.Root, "kube-cache"), "wait", "--for=condition=Ready", "cert/irsa", "-n", ns, "--timeout=90s");
        Assert.True(ready.ExitCode == 0, $"{ready}\n--- silo ---\n{silo.RecentOutput}");
        Assert.StartsWith("arn:aws:acm:", await cluster.OkAsync("get", "cert", "irsa", "-n", ns, "-o", "jsonpath={.status.arn}"), StringComparison.Ordinal);

        var requests = proxy.Requests;
        Assert.Contains(requests, r => r.Operation == "AssumeRoleWithWebIdentity");
        var acm = requests.Where(r => r.Operation is "RequestCertificate" or "DescribeCertificate" or "ExportCertificate" or "AddTagsToCertificate").ToList();
        Assert.Contains(acm, r => r.Operation == "RequestCertificate");
        Assert.Contains(acm, r => r.Operation == "ExportCertificate");
        Assert.All(acm, r =>
        {
            // Temporary credentials from STS: an ASIA key id and a session token, never a static key.
            Assert.Contains("Credential=ASIA", r.Authorization, StringComparison.Ordinal);
            Assert.NotNull(r.SecurityToken);
        });
        Assert.DoesNotContain(requests, r => r.Authorization?.Contains(MotoServer.AccessKey, StringComparison.Ordinal) == true);
    }
}
