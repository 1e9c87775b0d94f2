"""One run per ledger: an exclusive lock on a sidecar `LEDGER.lock`, held for the whole run.

Two runs appending to one ledger (a cron overlap, a second terminal) would each send every id.
The lock is `flock(LOCK_EX | LOCK_NB)` on `LEDGER.lock` beside the ledger, taken before the
input is read; a second run gives up at once (exit 75, EX_TEMPFAIL) naming the holder. The
kernel drops a flock when its holder dies, even by `kill -9`, so a lock file left behind is no
obstacle; its content (who held it) is only for the message. The lock file is never deleted:
removing it would let a third run lock a new file while a second still holds the old one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import stat
import sys
from pathlib import Path

from worker.clock import utc_now_iso_seconds
from worker.errors import ConfigError, LedgerBusyError

log = logging.getLogger("thumbsweep")

_HOLDER_BYTES = 4096  # the holder line is ~100 bytes; never read more from a stranger's file


def lock_path(ledger: Path) -> Path:
    """The sidecar lock file of a ledger: `ledger.jsonl` -> `ledger.jsonl.lock`."""
    return ledger.with_name(ledger.name + ".lock")


def refuse_input_as_ledger(source: str, ledger: Path) -> None:
    """Raise ConfigError when the ledger is the input file itself (same inode).

    The ledger is appended to after the input has been read, so a ledger that is its own
    manifest would grow with records that the next run reads as jobs. `-` is checked through
    the file stdin is redirected from, when it is a regular file.
    """
    try:
        ledger_stat = ledger.stat()
        if source == "-":
            if sys.stdin is None:
                return
            input_stat = os.fstat(sys.stdin.fileno())
            if not stat.S_ISREG(input_stat.st_mode):
                return
        else:
            input_stat = Path(source).stat()
    except (OSError, ValueError):  # no ledger yet, no input (reported later), no stdin
        return
    if (input_stat.st_dev, input_stat.st_ino) == (ledger_stat.st_dev, ledger_stat.st_ino):
        shown = "stdin" if source == "-" else f"'{source}'"
        raise ConfigError(
            f"refusing to run: the ledger '{ledger}' is the input file itself ({shown}); "
            "records would be appended to the manifest. Choose another --ledger"
        )


class LedgerLock:
    """Holds the lock of one ledger while a `with` block runs; raises LedgerBusyError if taken."""

    def __init__(self, ledger: Path) -> None:
        self.ledger = ledger
        self.path = lock_path(ledger)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now, or raise: LedgerBusyError (held), ConfigError (cannot create)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the lock file '{self.path}' beside the ledger: {exc.strerror}. "
                "thumbsweep locks each ledger so that two runs never send the same ids; "
                "make the ledger's directory writable or choose another --ledger"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_holder(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ConfigError(
                    f"cannot lock '{self.path}': {exc.strerror}; choose another --ledger"
                ) from None
            raise LedgerBusyError(
                f"another run holds the ledger '{self.ledger}' ({holder}; lock file "
                f"'{self.path}'). Not starting: try again when it has ended"
            ) from None
        self._fd = fd
        # Written only once the lock is ours, so the line always names the current holder.
        line = json.dumps({
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": utc_now_iso_seconds(),
        }) + "\n"  # fmt: skip
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, line.encode(), 0)
        except OSError:  # e.g. a full disk: the lock holds all the same; the line only informs
            log.warning("could not record the lock holder in %s", self.path)

    def release(self) -> None:
        """Empty the holder line and drop the lock; safe to call twice."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # still ours: a stale holder line then means a crashed run
        except OSError:
            pass  # the lock goes with the descriptor anyway
        finally:
            os.close(fd)

    def __enter__(self) -> LedgerLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """Who holds the lock, in words, from the holder line (it may still be being written)."""
    try:
        raw = os.pread(fd, _HOLDER_BYTES, 0)
        holder = json.loads(raw.decode("utf-8"))
        return (
            f"pid {int(holder['pid'])} on host {_printable(holder['host'], 255)}, "
            f"started {_printable(holder['started'], 40)}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "holder not recorded yet: it is just starting"


def _printable(value: object, limit: int) -> str:
    """A field of the holder line, made safe for a one-line message."""
    return "".join(char for char in str(value)[:limit] if char.isprintable())
