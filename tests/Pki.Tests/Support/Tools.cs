namespace Notary.Pki.Tests.Support;

/// <summary>The real tools the interop tests drive.</summary>
public static class Tools
{
    /// <summary>
    /// JVM flags that halve start-up time for these short runs (C1 only, serial GC); a test
    /// run starts over a dozen JVMs on two cores.
    /// </summary>
    public static readonly string[] FastJvm = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"];

    public static Task<ToolResult> KeytoolAsync(params string[] arguments) =>
        ToolRunner.RunAsync("keytool", [.. FastJvm.Select(flag => "-J" + flag), .. arguments]);

    public static Task<ToolResult> KeytoolListAsync(string path, StoreFormat format, string password) =>
        KeytoolAsync("-list", "-v", "-storetype", StoreType(format), "-keystore", path, "-storepass", password);

    public static Task<ToolResult> OpensslAsync(params string[] arguments) => ToolRunner.RunAsync("openssl", arguments);

    public static string StoreType(StoreFormat format) => format == StoreFormat.Jks ? "JKS" : "PKCS12";

    public static string Extension(StoreFormat format) => format == StoreFormat.Jks ? "jks" : "p12";

    public static int Count(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
