"""Limits of the admin API's requests."""

from __future__ import annotations

# How long a join link may live: the session's record of revocations relies on it.
from ..domain.links import MAX_LINK_TTL_S as MAX_LINK_TTL_S

MAX_BODY_BYTES = 16 * 1024
MAX_TITLE_LENGTH = 120
