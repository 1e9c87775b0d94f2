"""The known fields of a record, and how CSV header cells and JSON keys are matched to them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

WORKSPACE = "workspace"
PERSON_ID = "person_id"
THUMBNAIL_ID = "thumbnail_id"
THUMBNAIL_IDS = "thumbnail_ids"
FIELDS = (WORKSPACE, PERSON_ID, THUMBNAIL_ID, THUMBNAIL_IDS)

_NAME_SEPARATORS = re.compile(r"[\s\-]+")

_Value = TypeVar("_Value")


class RepeatedFieldError(Exception):
    """Two names that mean the same field (e.g. `person_id` and `Person ID`)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def normalize_name(name: str) -> str:
    """Column or key name in canonical form: `Person ID` and `person-id` are `person_id`."""
    return _NAME_SEPARATORS.sub("_", name.strip().lower())


def known_fields(pairs: Iterable[tuple[str, _Value]]) -> dict[str, _Value]:
    """The known fields among (name, value) pairs, names matched case- and space-insensitively
    (CSV header cells and JSON keys alike); a field named twice is ambiguous."""
    matched: dict[str, _Value] = {}
    for raw, value in pairs:
        field = normalize_name(raw)
        if field not in FIELDS:
            continue
        if field in matched:
            raise RepeatedFieldError(field)
        matched[field] = value
    return matched
