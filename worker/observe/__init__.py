"""Seeing a run: its counters and summary, progress, metrics, and output streams."""
