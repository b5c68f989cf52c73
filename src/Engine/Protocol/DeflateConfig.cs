namespace Engine.Protocol;

/// <summary>What the server is willing to agree to; made once from the options.</summary>
/// <param name="ServerMaxWindowBits">Largest window we compress with (8-15).</param>
/// <param name="ClientMaxWindowBits">Window we ask the client to keep to when it offers client_max_window_bits (8-15).</param>
/// <param name="ServerNoContextTakeover">Answer server_no_context_takeover even when not offered (lets deflaters be pooled).</param>
/// <param name="ClientNoContextTakeover">Answer client_no_context_takeover even when not offered (lets inflaters be pooled).</param>
internal readonly record struct DeflateConfig(int ServerMaxWindowBits, int ClientMaxWindowBits, bool ServerNoContextTakeover, bool ClientNoContextTakeover);
