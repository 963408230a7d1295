#!/usr/bin/env bash
# The second command: full set-up, then every check in order, stopping at the first
# failure. Extra arguments go to pytest (e.g. bash scripts/test.sh -m "not e2e" -x).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --full

# Tools come from the project's venv and node_modules, never from the machine.
export PATH="$PWD/.venv/bin:$PATH"

section() { printf '\n===== %s =====\n' "$*"; }

section "ruff check"
ruff check server media tests bench

section "ruff format --check"
ruff format --check server media tests bench

section "mypy"
mypy

section "import-linter"
# --no-cache: keep .import_linter_cache out of the work tree.
lint-imports --no-cache --no-logo

section "tsc (client)"
# --no-install: never fetch a package named "tsc" from the registry if typescript is absent.
npx --no-install tsc -p client/tsconfig.json

section "chromium"
# Playwright drives the system Chromium (tests pass executable_path); never
# `playwright install`, which downloads a browser of its own.
if [ ! -x /usr/bin/chromium ]; then
  echo "/usr/bin/chromium is missing: run scripts/setup.sh" >&2
  exit 1
fi
# The Debian wrapper may print a harmless "unexpected operator" line; keep the version.
/usr/bin/chromium --version 2>/dev/null | grep -i chromium || {
  echo "/usr/bin/chromium --version failed" >&2
  exit 1
}

section "pytest"
rc=0
# Media tests must keep every packet on loopback: run pytest in a fresh network
# namespace where only `lo` exists (root: plain unshare; otherwise a user namespace).
in_netns=(bash -c 'ip link set lo up && exec "$@"' netns)
if [ "$(id -u)" -eq 0 ]; then
  unshare --net -- "${in_netns[@]}" python -m pytest -p no:cacheprovider -q -ra "$@" || rc=$?
elif unshare --map-root-user --net true 2>/dev/null; then
  unshare --map-root-user --net -- "${in_netns[@]}" python -m pytest -p no:cacheprovider -q -ra "$@" || rc=$?
else
  echo "cannot create a network namespace; running on the host network (loopback only)" >&2
  python -m pytest -p no:cacheprovider -q -ra "$@" || rc=$?
fi
if [ "$rc" -eq 5 ]; then
  # Exit 5 means nothing was collected; a green run that tested nothing is a failure.
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
