using System.Globalization;
using System.Reflection;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Notary.Pki.Bench;

/// <summary>What the figures were measured on, printed with them.</summary>
internal static class MachineInfo
{
    public static IEnumerable<string> Describe()
    {
        yield return $"cores (Environment.ProcessorCount): {Environment.ProcessorCount}";
        yield return $"cpu: {CpuModel()}";
        yield return $"os: {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}";
        yield return $"runtime: {RuntimeInformation.FrameworkDescription}, GC: {(GCSettings.IsServerGC ? "server" : "workstation")}";
        yield return $"openssl (as loaded by .NET): {OpenSslVersion()}";
        yield return $"bouncycastle: {typeof(Org.BouncyCastle.Security.SecureRandom).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]}";
    }

    /// <summary>
    /// The 1/5/15-minute load averages. Printed with every workload: other work on the machine
    /// (builds, tests) competes for the same cores and is the first suspect when figures move.
    /// </summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo")
                .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?
                .Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string OpenSslVersion()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return "n/a";
        }

        // OPENSSL_VERSION_NUMBER layout for 3.x: 0xMNN00PP0.
        long v = SafeEvpPKeyHandle.OpenSslVersion;
        return string.Create(CultureInfo.InvariantCulture, $"{(v >> 28) & 0xF}.{(v >> 20) & 0xFF}.{(v >> 4) & 0xFF} (0x{v:X8})");
    }
}
