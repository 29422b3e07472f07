"""The pure conversation engine: content models, validation, state machine and steps (no I/O)."""
