"""Benchmarks for the bot: `python -m bench` (see docs/benchmarks.md). Not part of the installed package."""
