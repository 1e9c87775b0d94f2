"""How counts read in messages: "1 person", "1,200 unique ids"."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """`number` with thousands separators and the noun in singular or plural."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
