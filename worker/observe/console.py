"""The operator's stderr outside the log records: summaries, stop reasons and fatal errors.

With `--log-format json` every line on stderr must be one JSON object (log collectors read
them), so these messages go through `say` instead of `print`. In text mode they are printed
exactly as before. The format is chosen once per process, as early as it is known.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Literal

from worker.clock import LOG_TIME_FORMAT

LogFormat = Literal["text", "json"]

_format: list[LogFormat] = ["text"]  # one process, one format: set by the CLI
_progress_shown = [True]  # -q (or a log level above info) silences progress


def use_format(log_format: LogFormat, *, progress: bool | None = None) -> None:
    """Choose how `say` writes for the rest of the process, and (when given) whether progress
    is shown."""
    _format[0] = log_format
    if progress is not None:
        _progress_shown[0] = progress


def progress_shown() -> bool:
    """Whether progress (the bar, the JSON progress lines) is shown at all."""
    return _progress_shown[0]


def json_output() -> bool:
    """Whether stderr carries JSON objects only (no bar, no free text)."""
    return _format[0] == "json"


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as {"ts", "level", "logger", "message"} (and "exception" if any)."""
        fields = {
            "ts": self.formatTime(record, LOG_TIME_FORMAT),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json.dumps(fields, ensure_ascii=False)


def configure_logging(level: str, verbose: int, quiet: int, log_format: LogFormat) -> None:
    """Logging on stderr at `level` moved by -v/-q, as text or JSON; also chooses how `say`
    writes and whether progress is shown."""
    levels = ["DEBUG", "INFO", "WARNING", "ERROR"]
    index = min(max(levels.index(level) - verbose + quiet, 0), len(levels) - 1)
    # Progress is information: -q (or a level above info) silences it with the info logs.
    use_format(log_format, progress=index <= levels.index("INFO"))
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s thumbsweep %(levelname)s %(message)s", LOG_TIME_FORMAT)
        )
    logging.basicConfig(level=levels[index], handlers=[handler], force=True)
    # aiohttp's own loggers would print request URLs; keep them quiet unless debugging.
    logging.getLogger("aiohttp").setLevel(logging.WARNING)


def json_line(level: str, message: str, **fields: Any) -> str:
    """One JSON object in the shape of a JSON log record, with extra `fields`."""
    record = logging.LogRecord("thumbsweep", logging.INFO, "", 0, message, None, None)
    stamp = JsonLogFormatter().formatTime(record, LOG_TIME_FORMAT)
    line = {"ts": stamp, "level": level, "logger": "thumbsweep", "message": message, **fields}
    return json.dumps(line, ensure_ascii=False)


def say(message: str, level: str = "error", **fields: Any) -> None:
    """Write `message` on stderr: as printed text (prefix included by the caller), or, in JSON
    mode, as one JSON object with `level`, the message without the "thumbsweep: " prefix, and
    `fields` (e.g. event="stop")."""
    if json_output():
        text = message.removeprefix("thumbsweep: ")
        print(json_line(level, text, **fields), file=sys.stderr, flush=True)
    else:
        print(message, file=sys.stderr)
