"""Any OpenAI-compatible chat server (the spawned llama-server, or one at a URL)."""
