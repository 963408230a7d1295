"""Where the benchmarks run and write: the repository root and the git-ignored bench/out/."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "bench" / "out"
