using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Notary.Testing;

/// <summary>
/// Ports for the servers a test or a benchmark starts itself (an API server, a silo, moto_server,
/// redis-server), chosen at random below the kernel's ephemeral range and checked free by binding.
/// Binding port 0 instead hands out a port from the ephemeral range, the range every outgoing
/// connection on the machine draws from too: between that check and the server's own bind another
/// process's connection could take the port, and CI runs failed with "address already in use".
/// Below the range only processes that choose ports explicitly compete: test projects run as
/// parallel processes, so each port chosen is also reserved with a lock file under
/// /tmp/notary-test-ports (an exclusive advisory lock, which .NET takes for FileShare.None on Unix
/// and the kernel drops when the process exits) and held for the process' lifetime.
/// </summary>
internal static class FreePorts
{
    private const int Lowest = 20000;
    private const int EphemeralDefault = 32768;
    private static readonly HashSet<int> Given = [];
    private static readonly List<FileStream> Reservations = [];
    private static readonly string LockDirectory = Path.Combine(Path.GetTempPath(), "notary-test-ports");
    private static readonly Lazy<int> EphemeralLow = new(ReadEphemeralLow);

    /// <summary>A loopback port nobody listens on right now, outside the ephemeral range.</summary>
    public static int Next()
    {
        var top = EphemeralLow.Value;
        for (var attempt = 0; attempt < 100 && top - Lowest > 100; attempt++)
        {
            var port = Random.Shared.Next(Lowest, top);
            lock (Given)
            {
                if (!Given.Add(port))
                {
                    continue;
                }
            }

            if (Reserve(port) is { } reservation)
            {
                if (IsFree(port))
                {
                    lock (Reservations)
                    {
                        Reservations.Add(reservation);
                    }

                    return port;
                }

                reservation.Dispose();
            }
        }

        // A machine whose ephemeral range starts low: the kernel's choice, as before.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The port's lock file, or null when another process holds it.</summary>
    private static FileStream? Reserve(int port)
    {
        try
        {
            Directory.CreateDirectory(LockDirectory);
            return new FileStream(Path.Combine(LockDirectory, port.ToString(CultureInfo.InvariantCulture) + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int ReadEphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return EphemeralDefault;
        }
    }
}
