using System.Text.Json.Nodes;
using Notary.Pki.Tests.Support;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// The chart refuses (helm fails) a Redis connection string without a password and TLS, unless
/// cluster.redis.allowInsecure says it is on purpose; then the install NOTES warn loudly and the
/// silos are told (Notary__Cluster__Redis__AllowInsecure), since they check the string too.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ChartRedisSecurityTests
{
    private const string InsecureWarning = "WARNING: INSECURE REDIS ALLOWED (cluster.redis.allowInsecure=true).";

    private static Task<ToolResult> InstallAsync(params string[] values) =>
        Helm.RunAsync(["install", "notary", Helm.ChartDirectory, "--namespace", "notary", "--dry-run=client", .. values]);

    private static string ConnectionString(string value) => $"cluster.redis.connectionString=\"{value}\"";

    [Theory]
    [InlineData("redis-master.redis:6379", "no password and no TLS (ssl=true)")]
    [InlineData("redis-master.redis:6379,password=p", "no TLS (ssl=true)")]
    [InlineData("redis-master.redis:6380,ssl=true", "no password")]
    [InlineData("redis-master.redis:6380,password=,ssl=true", "no password")]
    [InlineData("redis-master.redis:6380,password=p,ssl=false", "no TLS (ssl=true)")]
    // A repeated option: the last one wins, as in the silo's parser (StackExchange.Redis).
    [InlineData("redis-master.redis:6380,password=p,ssl=true,ssl=false", "no TLS (ssl=true)")]
    [InlineData("redis-master.redis:6380,password=p,ssl=true, SSL = False", "no TLS (ssl=true)")]
    [InlineData("redis-master.redis:6380,password=p,ssl=true,password=", "no password")]
    [InlineData("redis-master.redis:6380,ssl=true,password=p,password= ", "no password")]
    [InlineData("redis-master.redis:6380,password=p,sslHost=ssl=true", "no TLS (ssl=true)")]
    public async Task A_connection_string_without_password_and_TLS_is_refused(string connectionString, string missing)
    {
        var result = await InstallAsync("--set-json", ConnectionString(connectionString));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"cluster.redis.connectionString has {missing}:", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("cluster.redis.allowInsecure=true", result.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis-master.redis:6380,password=p,ssl=true")]
    [InlineData("redis-master.redis:6380, user=notary, Password=p , SSL=True")]
    [InlineData("redis-master.redis:6380,ssl=false,password=,password=p,ssl=true")]
    public async Task A_connection_string_with_password_and_TLS_installs_without_warning(string connectionString)
    {
        var notes = await ChartNotesTests.NotesAsync("--set-json", ConnectionString(connectionString));

        Assert.DoesNotContain("WARNING", notes, StringComparison.Ordinal);
        var env = Env(await Helm.TemplateAsync("notary", "notary", "--set-json", ConnectionString(connectionString)));
        Assert.False(env.ContainsKey("Notary__Cluster__Redis__AllowInsecure"));
    }

    [Fact]
    public async Task An_insecure_connection_allowed_on_purpose_installs_with_a_loud_warning_and_tells_the_silos()
    {
        string[] values = ["--set-json", ConnectionString("redis-master.redis:6379"), "--set", "cluster.redis.allowInsecure=true"];

        var notes = await ChartNotesTests.NotesAsync(values);

        Assert.Contains(InsecureWarning, notes, StringComparison.Ordinal);
        Assert.Contains("Secret notary/notary-state-key", notes, StringComparison.Ordinal);
        var env = Env(await Helm.TemplateAsync("notary", "notary", values));
        Assert.Equal("true", env["Notary__Cluster__Redis__AllowInsecure"]);
    }

    [Fact]
    public async Task A_connection_string_in_an_existing_Secret_is_left_to_the_silos_check()
    {
        var notes = await ChartNotesTests.NotesAsync("--set", "cluster.redis.existingSecret.name=notary-redis");

        Assert.DoesNotContain("WARNING", notes, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_state_values_name_the_key_Secret_and_the_KMS_key()
    {
        var byDefault = Env(await Helm.TemplateAsync("notary", "notary", "--set", "cluster.redis.existingSecret.name=r"));
        Assert.Equal("notary-state-key", byDefault["Notary__State__SecretName"]);
        Assert.False(byDefault.ContainsKey("Notary__State__KmsKeyId"));

        var kms = Env(await Helm.TemplateAsync("notary", "notary", "--set", "cluster.redis.existingSecret.name=r", "--set", "state.kmsKeyId=alias/notary-state", "--set", "state.kmsRegion=eu-west-3"));
        Assert.Equal("alias/notary-state", kms["Notary__State__KmsKeyId"]);
        Assert.Equal("eu-west-3", kms["Notary__State__Kms__Region"]);
    }

    private static Dictionary<string, string?> Env(List<JsonObject> objects) =>
        ChartTests.Single(objects, "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
            .ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]?.GetValue<string>(), StringComparer.Ordinal);
}
