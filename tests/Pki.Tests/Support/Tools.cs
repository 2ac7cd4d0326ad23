namespace Notary.Pki.Tests.Support;

/// <summary>The real tools the interop tests drive.</summary>
public static class Tools
{
    public static Task<ToolResult> KeytoolListAsync(string path, StoreFormat format, string password) =>
        ToolRunner.RunAsync("keytool", "-list", "-v", "-storetype", StoreType(format), "-keystore", path, "-storepass", password);

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
