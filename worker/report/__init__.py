"""thumbsweep report: what happened to every id, across runs, read back from ledgers."""
