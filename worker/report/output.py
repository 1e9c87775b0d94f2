"""Where a report goes: stdout, or `--output PATH` written whole or not at all (a temporary
file beside it, fsynced, then renamed into place), so a reader never sees half a report."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from worker.errors import ExitCode, ThumbsweepError, describe_os_error


class OutputError(ThumbsweepError):
    """The report's output could not be written (exit 74, EX_IOERR)."""

    exit_code = ExitCode.IOERR


@contextlib.contextmanager
def report_output(path: Path | None) -> Iterator[TextIO]:
    """A text stream for the report: stdout, or a temporary file renamed to `path` once the
    block ends without an error (removed otherwise)."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                       dir=path.parent or Path())  # fmt: skip
    except OSError as exc:
        raise OutputError(f"cannot write --output '{path}': {describe_os_error(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise OutputError(f"cannot write --output '{path}': {describe_os_error(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
