"""Records: the ledger (its lines, the file, its lock), reading it back, and --failed-out."""
