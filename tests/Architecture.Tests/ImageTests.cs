namespace Notary.Architecture.Tests;

/// <summary>The image ships what Notary reads at run time.</summary>
public sealed class ImageTests
{
    /// <summary>
    /// Truststore sources with <c>defaultCAs: true</c> read Debian's root bundle at the default
    /// Notary__TrustSources__DefaultCAsPath: the runtime stage installs ca-certificates and checks the file is there.
    /// </summary>
    [Fact]
    public void The_runtime_stage_installs_the_public_root_bundle_that_defaultCAs_reads()
    {
        var dockerfile = File.ReadAllText(Path.Combine(ProjectGraph.FindRoot(), "Dockerfile"));
        var runtime = dockerfile[dockerfile.IndexOf(" AS runtime", StringComparison.Ordinal)..];
        var install = runtime[runtime.IndexOf("RUN apt-get update", StringComparison.Ordinal)..];
        install = install[..install.IndexOf("\n\n", StringComparison.Ordinal)];

        Assert.Contains("apt-get install -y --no-install-recommends ca-certificates", install, StringComparison.Ordinal);
        Assert.Contains("test -s /etc/ssl/certs/ca-certificates.crt", install, StringComparison.Ordinal);
        Assert.True(runtime.IndexOf("RUN apt-get update", StringComparison.Ordinal) < runtime.IndexOf("USER $APP_UID", StringComparison.Ordinal), "installed as root, before the image switches to the app user");
    }
}
