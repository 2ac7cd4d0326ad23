namespace Notary.Pki.Tests;

public sealed class KeySpecTests
{
    [Theory]
    [InlineData(KeyAlgorithm.Rsa, 2048, null)]
    [InlineData(KeyAlgorithm.Rsa, 3072, null)]
    [InlineData(KeyAlgorithm.Rsa, 4096, null)]
    [InlineData(KeyAlgorithm.Ecdsa, 256, null)]
    [InlineData(KeyAlgorithm.Ecdsa, 384, null)]
    [InlineData(KeyAlgorithm.Rsa, 1024, "RSA key size 1024 is not supported; use 2048, 3072 or 4096")]
    [InlineData(KeyAlgorithm.Rsa, 256, "RSA key size 256 is not supported; use 2048, 3072 or 4096")]
    [InlineData(KeyAlgorithm.Rsa, 0, "RSA key size 0 is not supported; use 2048, 3072 or 4096")]
    [InlineData(KeyAlgorithm.Ecdsa, 521, "ECDSA key size 521 is not supported; use 256 (P-256) or 384 (P-384)")]
    [InlineData(KeyAlgorithm.Ecdsa, 2048, "ECDSA key size 2048 is not supported; use 256 (P-256) or 384 (P-384)")]
    [InlineData((KeyAlgorithm)7, 2048, "key algorithm 7 is not supported; use RSA or ECDSA")]
    public void Validate_names_the_bad_value(KeyAlgorithm algorithm, int size, string? expected) =>
        Assert.Equal(expected, new KeySpec(algorithm, size).Validate());

    [Fact]
    public void Default_is_rsa_2048() => Assert.Equal(new KeySpec(KeyAlgorithm.Rsa, 2048), KeySpec.Default);
}
