namespace Notary.Grains;

/// <summary>Persistence shared by the grains.</summary>
internal static class Persistence
{
    /// <summary>
    /// Persists the state. When the write fails, <paramref name="deactivate"/> drops the
    /// activation so the next call starts from what storage holds, not from in-memory changes
    /// that were never saved (a retried call would otherwise see them and skip its write).
    /// </summary>
    public static async Task SaveAsync<T>(IPersistentState<T> state, Action deactivate)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            deactivate();
            throw;
        }
    }
}
