"""The in-memory twin of the store's row stores (tests, demos)."""
