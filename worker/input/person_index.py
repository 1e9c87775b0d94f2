"""Persons numbered in first-seen order and found again by (workspace number, person id).

Ten million persons held as ten million dict entries with a key tuple and an int object each
take about 3 GB; here a person costs 12 bytes of key (a 32-bit workspace number and a 64-bit
person id, in two columns) plus one 32-bit cell of an open-addressing table (linear probing,
at most two thirds full): about 20 bytes, and no Python object.
A Python-level probe is slower than a dict lookup, but cheap next to reading the row.
"""

from __future__ import annotations

from array import array

# Cells of the table hold slot + 1 (0 is empty): a 4-byte signed int, so 2**31 - 2 persons.
_CELL = "i"
_INITIAL_CELLS = 1 << 10


class PersonIndex:
    """Slots 0, 1, 2, ... for (workspace number, person id) pairs, in the order first added."""

    def __init__(self) -> None:
        self.workspaces = array("I")  # slot -> workspace number
        self.person_ids = array("q")  # slot -> person id
        self._cells = array(_CELL, bytes(array(_CELL).itemsize * _INITIAL_CELLS))
        self._mask = _INITIAL_CELLS - 1

    def __len__(self) -> int:
        return len(self.person_ids)

    def find(self, workspace: int, person_id: int) -> int:
        """The person's slot, or -1 when it was never added."""
        cells, person_ids, workspaces, mask = (
            self._cells,
            self.person_ids,
            self.workspaces,
            self._mask,
        )
        cell = hash((workspace, person_id)) & mask
        while entry := cells[cell]:
            slot = entry - 1
            if person_ids[slot] == person_id and workspaces[slot] == workspace:
                return slot
            cell = (cell + 1) & mask
        return -1

    def find_or_add(self, workspace: int, person_id: int) -> tuple[int, bool]:
        """The person's slot, and whether it was added now (it then is the last slot)."""
        cells, person_ids, workspaces, mask = (
            self._cells,
            self.person_ids,
            self.workspaces,
            self._mask,
        )
        cell = hash((workspace, person_id)) & mask
        while entry := cells[cell]:
            slot = entry - 1
            if person_ids[slot] == person_id and workspaces[slot] == workspace:
                return slot, False
            cell = (cell + 1) & mask
        slot = len(person_ids)
        person_ids.append(person_id)
        workspaces.append(workspace)
        cells[cell] = slot + 1
        if 3 * (slot + 1) > 2 * len(cells):
            self._grow()
        return slot, True

    def _grow(self) -> None:
        """Twice the cells, every slot placed again (amortised: each add pays a constant)."""
        size = 2 * len(self._cells)
        cells = array(_CELL, bytes(self._cells.itemsize * size))
        mask = size - 1
        for slot, key in enumerate(zip(self.workspaces, self.person_ids, strict=True)):
            cell = hash(key) & mask
            while cells[cell]:
                cell = (cell + 1) & mask
            cells[cell] = slot + 1
        self._cells, self._mask = cells, mask
