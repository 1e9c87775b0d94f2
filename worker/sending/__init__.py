"""Sending: the sender pool, retries, the retry budget, throttling, guards and stop signals."""
