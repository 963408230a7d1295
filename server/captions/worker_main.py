"""Entry of the caption worker process (kept apart from `worker`, which the package
imports, so `python -m` runs a module that is not already loaded)."""

import json
import sys

from server.captions.worker import serve

if __name__ == "__main__":
    serve(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]))
