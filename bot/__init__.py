"""Adapters around the engine: Telegram, SQLite storage, command line and terminal preview."""
