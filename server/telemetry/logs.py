"""Logging set-up: human lines by default, JSON lines on request (PEERCIRCLE_LOG_FORMAT=json).

A JSON line carries the session and participant ids bound with `log_context` (or passed
as `extra=`), never display names or tokens: a token-shaped string in a message is
masked before the line is written.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, TextIO

CONTEXT_FIELDS = ("session_id", "participant_id")

_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "peercircle_log_context", default=MappingProxyType({})
)

# A JWT (three base64url parts, the first a JSON header), our older `payload.signature`
# tokens, and anything after `#t=` or `token=` in a URL.
_TOKEN_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"
    r"|(?<=[#?&]t=)[A-Za-z0-9_.-]+"
    r"|(?<=token=)[A-Za-z0-9_.-]+"
)


def redact(text: str) -> str:
    """`text` with anything shaped like a join token replaced by `[token]`."""
    return _TOKEN_SHAPES.sub("[token]", text)


@contextlib.contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Within this block (and tasks started from it) log records carry these ids
    (`session_id`, `participant_id`); None leaves an id out."""
    bound = {**_context.get(), **{k: v for k, v in ids.items() if v is not None}}
    token = _context.set(MappingProxyType(bound))
    try:
        yield
    finally:
        _context.reset(token)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, ids, and the exception
    (type, message, traceback) in one field, so a record is always one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        ids = _context.get()
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None) or ids.get(name)
            if value:
                line[name] = str(value)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """The human format, with token-shaped strings masked too."""

    def format(self, record: logging.LogRecord) -> str:
        """The usual line, redacted."""
        return redact(super().format(record))


def configure_logging(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Root logging for the process: `log_format` "json" or "text", to stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
