"""Sessions and runs in SQLite: the store, its schema upgrades, its guarantees."""
