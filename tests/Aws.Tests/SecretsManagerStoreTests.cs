using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Notary.Aws.Tests.Support;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;

namespace Notary.Aws.Tests;

/// <summary>The Secrets Manager store against moto, through the real HTTP stack.</summary>
[Collection(MotoCollection.Name)]
[Trait("Category", "Slow")]
public sealed class SecretsManagerStoreTests
{
    private readonly SecretsManagerClient _client;
    private readonly SecretsManagerStore _store;
    private readonly TestLog _log = new();
    private readonly string _namespace = "t-" + Guid.NewGuid().ToString("N")[..10];

    public SecretsManagerStoreTests(MotoFixture fixture)
    {
        _client = new SecretsManagerClient(new AwsJsonClient(fixture.Http, AwsServiceInfo.SecretsManager, fixture.Moto.ClientOptions(), MotoServer.Credentials, logger: _log.CreateLogger("aws")));
        _store = new SecretsManagerStore(_client, Options.Create(new SecretsManagerStoreOptions { Region = MotoServer.Region, RecoveryWindowDays = 7 }), _log.For<SecretsManagerStore>());
    }

    internal static StoreWrite Write(string ns, string name, byte[] store, ResourceKind kind = ResourceKind.Keystore, string fqdn = "web.ns.svc.cluster.local") =>
        new(new ResourceKey(ns, name), kind, fqdn, "keystore.p12", new Dictionary<string, byte[]> { ["keystore.p12"] = store, ["tls.key"] = "-----BEGIN PRIVATE KEY-----"u8.ToArray() });

    [Fact]
    public async Task Put_creates_a_tagged_secret_holding_the_store_file_and_answers_its_arn()
    {
        var bytes = RandomNumberGenerator.GetBytes(3000);

        var location = await _store.PutAsync(Write(_namespace, "web", bytes), CancellationToken.None);

        Assert.StartsWith($"arn:aws:secretsmanager:us-west-2:123456789012:secret:notary/{_namespace}/web-", location.Arn, StringComparison.Ordinal);
        Assert.Equal(location.Arn, location.Location);
        var value = await _client.GetSecretValueAsync(location.Arn, null, CancellationToken.None);
        Assert.Equal(bytes, value.SecretBinary);
        var described = await _client.DescribeSecretAsync($"notary/{_namespace}/web", CancellationToken.None);
        var tags = described!.Tags!.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("notary", tags["app.kubernetes.io/managed-by"]);
        Assert.Equal(_namespace, tags["notary.dev/namespace"]);
        Assert.Equal("web", tags["notary.dev/name"]);
        Assert.Equal("Keystore", tags["notary.dev/kind"]);
        Assert.Equal("web.ns.svc.cluster.local", tags["notary.dev/fqdn"]);
        Assert.Null(described.DeletedDate);
    }

    [Fact]
    public async Task A_second_put_replaces_the_value_and_updates_a_changed_fqdn_tag()
    {
        var first = await _store.PutAsync(Write(_namespace, "web", [1, 2, 3]), CancellationToken.None);
        var second = await _store.PutAsync(Write(_namespace, "web", [4, 5, 6, 7], fqdn: "web2.ns.svc.cluster.local"), CancellationToken.None);

        Assert.Equal(first, second);
        var value = await _client.GetSecretValueAsync(second.Arn, null, CancellationToken.None);
        Assert.Equal(new byte[] { 4, 5, 6, 7 }, value.SecretBinary);
        var tags = (await _client.DescribeSecretAsync(second.Arn, CancellationToken.None))!.Tags!;
        Assert.Contains(new AwsTag("notary.dev/fqdn", "web2.ns.svc.cluster.local"), tags);
        Assert.Single(tags, t => t.Key == "notary.dev/fqdn");
    }

    [Fact]
    public async Task A_store_over_64_KiB_is_refused_with_its_size_and_nothing_is_written()
    {
        var error = await Assert.ThrowsAsync<SecretStoreRejectedException>(() =>
            _store.PutAsync(Write(_namespace, "huge", new byte[65_537], ResourceKind.Truststore), CancellationToken.None));

        Assert.Contains("65537 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("65536", error.Message, StringComparison.Ordinal);
        Assert.Contains($"Truststore {_namespace}/huge", error.Message, StringComparison.Ordinal);
        Assert.Null(await _client.DescribeSecretAsync($"notary/{_namespace}/huge", CancellationToken.None));

        // Exactly the limit fits.
        var location = await _store.PutAsync(Write(_namespace, "limit", new byte[65_536], ResourceKind.Truststore), CancellationToken.None);
        Assert.Equal(65_536, (await _client.GetSecretValueAsync(location.Arn, null, CancellationToken.None)).SecretBinary!.Length);
    }

    [Fact]
    public async Task A_secret_of_that_name_that_notary_does_not_own_is_refused_and_left_untouched()
    {
        var name = $"notary/{_namespace}/handmade";
        await _client.CreateSecretAsync(new CreateSecretRequest { Name = name, SecretBinary = [9, 9, 9], Tags = [new AwsTag("owner", "team-a")] }, CancellationToken.None);

        var error = await Assert.ThrowsAsync<SecretStoreRejectedException>(() => _store.PutAsync(Write(_namespace, "handmade", [1]), CancellationToken.None));
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
        Assert.Contains("not managed by Notary", error.Message, StringComparison.Ordinal);

        Assert.False(await _store.DeleteAsync(new ResourceKey(_namespace, "handmade"), ResourceKind.Keystore, CancellationToken.None));

        var described = await _client.DescribeSecretAsync(name, CancellationToken.None);
        Assert.Null(described!.DeletedDate);
        Assert.Equal([new AwsTag("owner", "team-a")], described.Tags);
        Assert.Equal(new byte[] { 9, 9, 9 }, (await _client.GetSecretValueAsync(name, null, CancellationToken.None)).SecretBinary);
    }

    [Fact]
    public async Task A_secret_holding_the_other_kind_of_store_is_refused()
    {
        await _store.PutAsync(Write(_namespace, "web", [1], ResourceKind.Keystore), CancellationToken.None);

        var error = await Assert.ThrowsAsync<SecretStoreRejectedException>(() => _store.PutAsync(Write(_namespace, "web", [2], ResourceKind.Truststore), CancellationToken.None));

        Assert.Contains("holds the Keystore of that name", error.Message, StringComparison.Ordinal);
        Assert.False(await _store.DeleteAsync(new ResourceKey(_namespace, "web"), ResourceKind.Truststore, CancellationToken.None));
    }

    [Fact]
    public async Task Delete_schedules_deletion_with_the_recovery_window_and_a_second_delete_does_not_fail()
    {
        var location = await _store.PutAsync(Write(_namespace, "web", [1, 2]), CancellationToken.None);

        Assert.True(await _store.DeleteAsync(new ResourceKey(_namespace, "web"), ResourceKind.Keystore, CancellationToken.None));

        var described = await _client.DescribeSecretAsync(location.Arn, CancellationToken.None);
        Assert.NotNull(described!.DeletedDate);
        Assert.Contains(_log.Lines, l => l.Contains("for deletion in 7 days", StringComparison.Ordinal));
        var deleteCalls = _client.Transport.AttemptCount("DeleteSecret");

        Assert.True(await _store.DeleteAsync(new ResourceKey(_namespace, "web"), ResourceKind.Keystore, CancellationToken.None));
        Assert.Equal(deleteCalls, _client.Transport.AttemptCount("DeleteSecret"));
    }

    [Fact]
    public async Task The_recovery_window_reaches_aws_as_configured()
    {
        // moto refuses windows outside 7..30, which proves the value is sent; AWS does the same.
        var handler = new FakeAwsHandler();
        handler
            .Then(() => FakeAwsHandler.Json($$"""{"ARN":"arn:aws:secretsmanager:us-west-2:1:secret:notary/{{_namespace}}/web-AbCdEf","Name":"notary/{{_namespace}}/web","Tags":[{"Key":"app.kubernetes.io/managed-by","Value":"notary"},{"Key":"notary.dev/namespace","Value":"{{_namespace}}"},{"Key":"notary.dev/name","Value":"web"},{"Key":"notary.dev/kind","Value":"Keystore"}]}"""))
            .Then(() => FakeAwsHandler.Json("{}"));
        var client = new SecretsManagerClient(new AwsJsonClient(new HttpClient(handler), AwsServiceInfo.SecretsManager, new AwsClientOptions { Region = "us-west-2" }, MotoServer.Credentials));
        var store = new SecretsManagerStore(client, Options.Create(new SecretsManagerStoreOptions { RecoveryWindowDays = 12 }), _log.For<SecretsManagerStore>());

        Assert.True(await store.DeleteAsync(new ResourceKey(_namespace, "web"), ResourceKind.Keystore, CancellationToken.None));

        Assert.Equal(
            $$"""{"SecretId":"arn:aws:secretsmanager:us-west-2:1:secret:notary/{{_namespace}}/web-AbCdEf","RecoveryWindowInDays":12}""",
            handler.Requests[1].Body);
    }

    [Fact]
    public async Task Put_after_delete_restores_the_secret_and_writes_the_new_value()
    {
        var first = await _store.PutAsync(Write(_namespace, "web", [1]), CancellationToken.None);
        Assert.True(await _store.DeleteAsync(new ResourceKey(_namespace, "web"), ResourceKind.Keystore, CancellationToken.None));

        var second = await _store.PutAsync(Write(_namespace, "web", [2, 2]), CancellationToken.None);

        Assert.Equal(first, second);
        var described = await _client.DescribeSecretAsync(second.Arn, CancellationToken.None);
        Assert.Null(described!.DeletedDate);
        Assert.Equal(new byte[] { 2, 2 }, (await _client.GetSecretValueAsync(second.Arn, null, CancellationToken.None)).SecretBinary);
        Assert.Equal(1, _client.Transport.AttemptCount("RestoreSecret"));
    }

    [Fact]
    public async Task Deleting_a_missing_secret_answers_false()
    {
        Assert.False(await _store.DeleteAsync(new ResourceKey(_namespace, "never-written"), ResourceKind.Truststore, CancellationToken.None));
        Assert.Equal(0, _client.Transport.AttemptCount("DeleteSecret"));
    }

    [Fact]
    public async Task Aws_errors_reach_the_caller_as_code_and_aws_message_without_retries()
    {
        // moto accepts any KMS key and any caller, so AWS's answers are played by a fake endpoint.
        var handler = new FakeAwsHandler();
        handler
            .Then(() => FakeAwsHandler.Error(System.Net.HttpStatusCode.BadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."))
            .Then(() => FakeAwsHandler.Error(System.Net.HttpStatusCode.BadRequest, "EncryptionFailure", "Secrets Manager can't encrypt the protected secret text using the provided KMS key."))
            .Then(() => FakeAwsHandler.Error(System.Net.HttpStatusCode.BadRequest, "AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/notary/x is not authorized to perform: secretsmanager:DescribeSecret"));
        var client = new SecretsManagerClient(new AwsJsonClient(new HttpClient(handler), AwsServiceInfo.SecretsManager, new AwsClientOptions { Region = "us-west-2" }, MotoServer.Credentials));
        var store = new SecretsManagerStore(client, Options.Create(new SecretsManagerStoreOptions { KmsKeyId = "alias/notary" }), _log.For<SecretsManagerStore>());
        var bytes = "SECRET-STORE-CONTENT"u8.ToArray();

        // The grain shows the message in the condition and retries: an operator fixes KMS or IAM.
        var encryptionFailure = await Assert.ThrowsAsync<SecretStoreFailedException>(() => store.PutAsync(Write(_namespace, "kms", bytes), CancellationToken.None));
        var deniedFailure = await Assert.ThrowsAsync<SecretStoreFailedException>(() => store.PutAsync(Write(_namespace, "kms", bytes), CancellationToken.None));
        var encryption = Assert.IsType<AwsServiceException>(encryptionFailure.InnerException);
        var denied = Assert.IsType<AwsServiceException>(deniedFailure.InnerException);

        Assert.Equal($"Secrets Manager CreateSecret of notary/{_namespace}/kms failed: EncryptionFailure: Secrets Manager can't encrypt the protected secret text using the provided KMS key.", encryptionFailure.Message);
        Assert.Equal($"Secrets Manager DescribeSecret of notary/{_namespace}/kms failed: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/notary/x is not authorized to perform: secretsmanager:DescribeSecret", deniedFailure.Message);
        Assert.False(denied.Retryable);
        Assert.Equal(3, handler.Requests.Count);
        Assert.Contains("\"KmsKeyId\":\"alias/notary\"", handler.Requests[1].Body, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET-STORE-CONTENT", encryptionFailure.ToString() + deniedFailure.ToString() + _log.Text, StringComparison.Ordinal);
        Assert.Contains(_log.Lines, l => l.Contains("Secrets Manager CreateSecret on notary/" + _namespace + "/kms failed: EncryptionFailure", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nothing_secret_is_logged()
    {
        var bytes = "KEYSTORE-CONTENT-MUST-NOT-LEAK"u8.ToArray();
        await _store.PutAsync(Write(_namespace, "web", bytes), CancellationToken.None);
        await _store.PutAsync(Write(_namespace, "web", bytes), CancellationToken.None);
        await _store.DeleteAsync(new ResourceKey(_namespace, "web"), ResourceKind.Keystore, CancellationToken.None);

        Assert.NotEmpty(_log.Lines);
        Assert.DoesNotContain("KEYSTORE-CONTENT", _log.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(bytes), _log.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", _log.Text, StringComparison.Ordinal);
    }
}
