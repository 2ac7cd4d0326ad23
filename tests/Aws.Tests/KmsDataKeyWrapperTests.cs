using Microsoft.Extensions.Options;
using Notary.Aws.Tests.Support;

namespace Notary.Aws.Tests;

/// <summary>
/// The state data keys wrapped by KMS, against moto's KMS through the real HTTP stack: a
/// generated key comes back as 32 bytes and a ciphertext that Decrypt turns back into them, only
/// with the same encryption context and only under the configured key.
/// </summary>
[Collection(MotoCollection.Name)]
[Trait("Category", "Slow")]
public sealed class KmsDataKeyWrapperTests(MotoFixture fixture)
{
    private KmsClient Client() => new(new AwsJsonClient(fixture.Http, AwsServiceInfo.Kms, fixture.Moto.ClientOptions(), MotoServer.Credentials));

    private async Task<string> CreateKeyAsync()
    {
        var client = new AwsJsonClient(fixture.Http, AwsServiceInfo.Kms, fixture.Moto.ClientOptions(), MotoServer.Credentials);
        var created = await client.InvokeAsync("CreateKey", new CreateKeyRequest { Description = "notary state keys" },
            TestJsonContext.Default.CreateKeyRequest, TestJsonContext.Default.CreateKeyResponse, CancellationToken.None);
        return created.KeyMetadata?.Arn ?? throw new InvalidOperationException("CreateKey answered no ARN");
    }

    private KmsDataKeyWrapper Wrapper(string keyId) => new(Client(), Options.Create(new KmsStateKeyOptions { KmsKeyId = keyId }));

    private static readonly Dictionary<string, string> Context = new() { ["notary.dev/state-key"] = "notary/notary-state-key/k1" };

    [Fact]
    public async Task A_generated_key_unwraps_to_the_same_32_bytes()
    {
        var wrapper = Wrapper(await CreateKeyAsync());

        var generated = await wrapper.GenerateAsync(Context, CancellationToken.None);

        Assert.Equal(32, generated.Plaintext.Length);
        Assert.True(generated.Wrapped.AsSpan().IndexOf(generated.Plaintext.AsSpan(0, 16)) < 0);
        Assert.Equal(generated.Plaintext, await wrapper.UnwrapAsync(generated.Wrapped, Context, CancellationToken.None));
    }

    [Fact]
    public async Task A_wrapped_key_does_not_unwrap_with_another_context()
    {
        var wrapper = Wrapper(await CreateKeyAsync());
        var generated = await wrapper.GenerateAsync(Context, CancellationToken.None);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            wrapper.UnwrapAsync(generated.Wrapped, new Dictionary<string, string> { ["notary.dev/state-key"] = "notary/notary-state-key/k2" }, CancellationToken.None));

        Assert.Contains("KMS Decrypt", ex.Message, StringComparison.Ordinal);
        Assert.IsType<AwsServiceException>(ex.InnerException);
    }

    [Fact]
    public async Task A_key_that_does_not_exist_is_reported_with_what_the_role_needs()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Wrapper("arn:aws:kms:us-west-2:123456789012:key/00000000-0000-0000-0000-000000000000").GenerateAsync(Context, CancellationToken.None));

        Assert.Contains("kms:GenerateDataKey", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alias/notary-state", true)]
    [InlineData("", false)]
    [InlineData("alias/has space", false)]
    public void The_key_id_is_validated_with_a_fix_it_message(string keyId, bool valid)
    {
        var failures = new KmsStateKeyOptions { KmsKeyId = keyId, Kms = new AwsClientOptions { Region = "us-west-2" } }.Validate(_ => null);

        Assert.Equal(valid, failures.Count == 0);
        if (!valid)
        {
            Assert.Contains("Notary__State__KmsKeyId=alias/notary-state", Assert.Single(failures), StringComparison.Ordinal);
        }
    }
}
