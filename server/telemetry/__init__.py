"""Logging set-up (JSON lines with opaque ids) and timings; leaves of the import graph."""
