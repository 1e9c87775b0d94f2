"""The input: readers of CSV and JSON Lines, field matching, per-person batching and sharding."""
