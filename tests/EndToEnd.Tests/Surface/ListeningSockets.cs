using System.Globalization;

namespace Notary.EndToEnd.Tests.Surface;

/// <summary>
/// The TCP sockets a process listens on, read the way <c>ss -ltnp</c> does: the socket inodes
/// among the process's open file descriptors (/proc/PID/fd), matched with the LISTEN rows
/// (state 0A) of /proc/net/tcp and tcp6.
/// </summary>
public static class ListeningSockets
{
    public static List<(string Address, int Port)> Of(int pid)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(target["socket:[".Length..^1]);
                }
            }
            catch (IOException)
            {
                // Closed while listing.
            }
        }

        var listening = new List<(string, int)>();
        foreach (var table in new[] { $"/proc/{pid}/net/tcp", $"/proc/{pid}/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (columns[3] == "0A" && inodes.Contains(columns[9]))
                {
                    var local = columns[1].Split(':');
                    listening.Add((Address(local[0]), int.Parse(local[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                }
            }
        }

        return listening;
    }

    /// <summary>/proc/net/tcp's address: little-endian hex words; shown as an IPv4 or IPv6 address.</summary>
    private static string Address(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        for (var i = 0; i < bytes.Length; i += 4)
        {
            Array.Reverse(bytes, i, 4);
        }

        return new System.Net.IPAddress(bytes).ToString();
    }
}
