"""Limits of the admin API's requests."""

from __future__ import annotations

MAX_BODY_BYTES = 16 * 1024
MAX_TITLE_LENGTH = 120
MAX_LINK_TTL_S = 7 * 24 * 3600
