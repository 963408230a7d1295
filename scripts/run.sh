#!/usr/bin/env bash
# The first command: set up what running needs (venv + npm packages; no browser, redis
# or speech tools), then start the server. Arguments go to `python -m server`, which
# prints its URL and demo join links.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --run
exec .venv/bin/python -m server "$@"
