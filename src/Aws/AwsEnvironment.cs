namespace Notary.Aws;

/// <summary>The AWS settings the SDKs read from the environment, where Notary's own configuration is silent.</summary>
internal static class AwsEnvironment
{
    public static string? Region =>
        NullIfEmpty(Environment.GetEnvironmentVariable("AWS_REGION")) ?? NullIfEmpty(Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION"));

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
