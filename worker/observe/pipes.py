"""stdout and stderr that outlive their reader (`thumbsweep run ... 2>&1 | head -1`).

Once a reader has gone (EPIPE), or the terminal has (EIO after an ssh session closed), writing
to the stream is pointless and each attempt would raise inside logging, the progress reporter
or the summary, turning a good run into exit 1. The first such failure silences the stream for
the rest of the process: later writes are dropped, and its file descriptor is pointed at
/dev/null so the interpreter's final flush does not print "Exception ignored ... BrokenPipeError"
(or exit 120). The run itself, its ledger and its exit code are unaffected.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

_READER_GONE = frozenset({errno.EPIPE, errno.EIO})


class SilencedOnClose(io.TextIOBase):
    """A text stream that writes to `stream` until its reader is gone, then to nowhere."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        """Write `text`, or drop it once the reader is gone."""
        if not self.reader_gone:
            try:
                self._stream.write(text)
            except OSError as exc:
                if exc.errno not in _READER_GONE:
                    raise
                self._silence()
        return len(text)

    def flush(self) -> None:
        """Flush, unless the reader is gone."""
        if not self.reader_gone:
            try:
                self._stream.flush()
            except OSError as exc:
                if exc.errno not in _READER_GONE:
                    raise
                self._silence()

    def isatty(self) -> bool:
        """Whether the stream is still a terminal someone reads."""
        return not self.reader_gone and self._stream.isatty()

    def fileno(self) -> int:
        """The underlying file descriptor."""
        return self._stream.fileno()

    def writable(self) -> bool:
        """Always: writes after the reader has gone are accepted and dropped."""
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]  # a property, as on TextIOWrapper
        """The underlying stream's encoding (tqdm chooses its bar's characters by it)."""
        return self._stream.encoding

    def _silence(self) -> None:
        self.reader_gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError):  # no real descriptor (e.g. under a test runner)
            pass


@contextmanager
def guarded_output() -> Iterator[None]:
    """Route sys.stdout and sys.stderr through `SilencedOnClose` for the `with` block."""
    saved = sys.stdout, sys.stderr
    if saved[0] is not None:
        sys.stdout = cast("TextIO", SilencedOnClose(saved[0]))
    if saved[1] is not None:
        sys.stderr = cast("TextIO", SilencedOnClose(saved[1]))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
