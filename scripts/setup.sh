#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine (Python 3.11, root or sudo).
#   bash scripts/setup.sh                everything the tests need
#   bash scripts/setup.sh --run          only what running the server needs: the
#                                        package without its dev and captions extras,
#                                        socket.io-client, preact and esbuild
#                                        without typescript and axe-core
#                                        (same as PEERCIRCLE_SETUP=run)
#   bash scripts/setup.sh --run --captions   ...plus the offline captions engine
#                                        (faster-whisper and its model, about 500 MB;
#                                        same as PEERCIRCLE_SETUP_CAPTIONS=1)
#   --plan                               print what would be installed, change nothing
# Installs missing system packages, creates .venv, installs the Python package and
# the npm packages. Stamp files make a second run skip work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${PEERCIRCLE_SETUP:-full}"
captions="${PEERCIRCLE_SETUP_CAPTIONS:-0}"
plan=0
for arg in "$@"; do
  case "$arg" in
    --run) mode=run ;;
    --full) mode=full ;;
    --captions) captions=1 ;;
    --plan) plan=1 ;;
    *) echo "usage: $0 [--run|--full] [--captions] [--plan]" >&2; exit 2 ;;
  esac
done

# Python extras and npm flags per mode. A venv installed with more extras than asked
# for (a full set-up, then run.sh) is left as it is.
if [ "$mode" = full ]; then
  extras="captions,dev"
  npm_flags=""
elif [ "$captions" = 1 ]; then
  extras="captions"
  npm_flags="--omit=dev"
else
  extras=""
  npm_flags="--omit=dev"
fi
pip_target="."
if [ -n "$extras" ]; then pip_target=".[$extras]"; fi

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
if [ "$plan" = 1 ]; then
  echo "mode: $mode"
  echo "system packages: ${needs[*]//*:/} (missing: ${missing[*]:-none})"
  echo "pip install -e '$pip_target'"
  echo "npm ci $npm_flags"
  echo "npm run build (client/ -> client/dist/)"
  exit 0
fi
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

# has_all WANTED HAVE: every comma-separated word of WANTED is in HAVE.
has_all() {
  local word
  for word in ${1//,/ }; do
    case ",$2," in *",$word,"*) ;; *) return 1 ;; esac
  done
}

# Reinstall only when pyproject.toml changed since the last successful install, or
# when this mode needs extras that install did not have. The stamp: "hash extras".
py_hash="$(cat pyproject.toml setup.py media/_fanout.c | sha256sum | cut -d' ' -f1)"
py_stamp=.venv/.peercircle-pyproject.sha256
stamped_hash="" stamped_extras=""
if [ -f "$py_stamp" ]; then read -r stamped_hash stamped_extras <"$py_stamp" || true; fi
if [ "${stamped_hash:-}" != "$py_hash" ] || ! has_all "$extras" "${stamped_extras:-}"; then
  say "pip install -e '$pip_target' (first install, pyproject.toml changed or new extras)"
  # pip's output goes to a log (some machines' pip config makes it very chatty);
  # it is shown only when the install fails.
  if ! .venv/bin/python -m pip install --disable-pip-version-check --no-input \
      -e "$pip_target" >.venv/pip-install.log 2>&1; then
    tail -n 40 .venv/pip-install.log >&2
    echo "[setup] pip install failed; full log in .venv/pip-install.log" >&2
    exit 1
  fi
  if [ "${stamped_hash:-}" = "$py_hash" ]; then
    extras="${stamped_extras:+$stamped_extras,}$extras"
  fi
  echo "$py_hash ${extras:-}" >"$py_stamp"
else
  say "python packages up to date"
fi

# --- npm packages (socket.io-client is served to the browser; preact is bundled into
# it by esbuild; typescript checks client/; axe-core is injected by the e2e tests).
# The run set-up omits the dev packages (typescript); a full one has them. The stamp:
# "hash dev|nodev".
npm_hash="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)"
npm_stamp=node_modules/.peercircle-npm.sha256
npm_kind=dev
if [ -n "$npm_flags" ]; then npm_kind=nodev; fi
stamped_npm="" stamped_kind=""
if [ -f "$npm_stamp" ]; then read -r stamped_npm stamped_kind <"$npm_stamp" || true; fi
if [ "${stamped_npm:-}" != "$npm_hash" ] || { [ "$npm_kind" = dev ] && [ "${stamped_kind:-dev}" != dev ]; }; then
  if [ -f package-lock.json ]; then
    say "npm ci $npm_flags"
    # shellcheck disable=SC2086
    npm ci $npm_flags --no-audit --no-fund --loglevel=error --silent
  else
    say "npm install $npm_flags (no package-lock.json)"
    # shellcheck disable=SC2086
    npm install $npm_flags --no-audit --no-fund --loglevel=error --silent
  fi
  # Hash again: `npm install` may have just written the lockfile.
  npm_hash="$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)"
  echo "$npm_hash $npm_kind" >"$npm_stamp"
else
  say "npm packages up to date"
fi

# --- The browser bundle: esbuild (a run dependency, so both modes have it) bundles
# client/ into client/dist/, which git ignores: it is built from the sources on every
# set-up (well under a second), so it can never be a stale copy of them.
say "npm run build (client/ -> client/dist/)"
npm run --silent build

say "done ($mode)"
