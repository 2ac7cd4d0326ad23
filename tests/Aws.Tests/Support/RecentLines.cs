using System.Text;

namespace Notary.Aws.Tests.Support;

/// <summary>
/// The last lines a child process printed, for failure messages: appended from its output
/// events (any thread), trimmed to the newest <paramref name="keep"/> characters whenever it
/// grows past <paramref name="limit"/>. Shared by the test wrappers of moto_server, redis-server
/// and silo processes.
/// </summary>
public sealed class RecentLines(int limit = 20_000, int keep = 10_000)
{
    private readonly StringBuilder _text = new();

    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_text)
        {
            _text.AppendLine(line);
            if (_text.Length > limit)
            {
                _text.Remove(0, _text.Length - keep);
            }
        }
    }

    public override string ToString()
    {
        lock (_text)
        {
            return _text.ToString();
        }
    }
}
