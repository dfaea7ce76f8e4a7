"""llama-server: finding or building the binary, the model it serves, and the process."""
