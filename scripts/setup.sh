#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine (Python 3.11, root or sudo).
#   bash scripts/setup.sh          everything the tests need
#   bash scripts/setup.sh --run    only what running the server needs
#                                  (same as PEERCIRCLE_SETUP=run)
# Installs missing system packages, creates .venv, installs the Python package and
# the npm packages. Stamp files make a second run skip work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${PEERCIRCLE_SETUP:-full}"
for arg in "$@"; do
  case "$arg" in
    --run) mode=run ;;
    --full) mode=full ;;
    *) echo "usage: $0 [--run|--full]" >&2; exit 2 ;;
  esac
done

say() { echo "[setup] $*"; }

# Root runs apt-get directly; anyone else goes through sudo.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_updated=0
apt_install() {
  say "apt-get install $*"
  if [ "$apt_updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# --- System packages: "command:package" pairs; a package is installed only when its
# command is missing, so a machine that has them never touches apt.
# The forward path's inner loop is C (media/_fanout.c): pip builds it with gcc.
needs=(node:nodejs npm:npm gcc:gcc)
if [ "$mode" = full ]; then
  # Tests drive headless Chromium, start their own redis-server, synthesise speech
  # (espeak-ng, sox), and run media tests in network namespaces (unshare, ip).
  needs+=(chromium:chromium chromedriver:chromium-driver redis-server:redis-server
          espeak-ng:espeak-ng sox:sox ffmpeg:ffmpeg ip:iproute2 unshare:util-linux)
fi
missing=()
for pair in "${needs[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
else
  say "system packages present ($mode)"
fi

# --- Python venv. Prefer python3.11 (the version the project targets).
if ! command -v python3.11 >/dev/null && ! command -v python3 >/dev/null; then
  apt_install python3 python3-venv # Debian 12's python3 is 3.11
fi
PY="$(command -v python3.11 || command -v python3)"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "[setup] need Python >= 3.11, found $("$PY" --version 2>&1)" >&2
  exit 1
fi
# ...and with the interpreter's headers (pyenv and python.org builds have them).
if [ ! -f "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then
  apt_install python3-dev
fi
# A venv whose interpreter no longer runs (moved repo, removed Python) is rebuilt.
if [ -d .venv ] && ! .venv/bin/python -c '' >/dev/null 2>&1; then
  say "removing broken .venv"
  rm -rf .venv
fi
if [ ! -d .venv ]; then
  say "creating .venv with $("$PY" --version 2>&1)"
  if ! "$PY" -m venv .venv 2>/dev/null; then
    # Debian's system Python ships venv/ensurepip in a separate package.
    rm -rf .venv
    apt_install python3-venv
    "$PY" -m venv .venv
  fi
fi

# Reinstall only when pyproject.toml changed since the last successful install.
py_hash="$(cat pyproject.toml setup.py media/_fanout.c | sha256sum | cut -d' ' -f1)"
py_stamp=.venv/.peercircle-pyproject.sha256
if [ "$(cat "$py_stamp" 2>/dev/null)" != "$py_hash" ]; then
  say "pip install -e '.[dev,captions]' (pyproject.toml changed or first install)"
  # pip's output goes to a log (some machines' pip config makes it very chatty);
  # it is shown only when the install fails.
  if ! .venv/bin/python -m pip install --disable-pip-version-check --no-input \
      -e '.[dev,captions]' >.venv/pip-install.log 2>&1; then
    tail -n 40 .venv/pip-install.log >&2
    echo "[setup] pip install failed; full log in .venv/pip-install.log" >&2
    exit 1
  fi
  echo "$py_hash" >"$py_stamp"
else
  say "python packages up to date"
fi

# --- npm packages (socket.io-client is served to the browser; typescript checks client/).
npm_hash="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)"
npm_stamp=node_modules/.peercircle-npm.sha256
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_hash" ]; then
  if [ -f package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error --silent
  else
    say "npm install (no package-lock.json)"
    npm install --no-audit --no-fund --loglevel=error --silent
  fi
  # Hash again: `npm install` may have just written the lockfile.
  cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1 >"$npm_stamp"
else
  say "npm packages up to date"
fi

say "done ($mode)"
