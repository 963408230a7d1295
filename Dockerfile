# One PeerCircle node. Build: docker build -t peercircle .
FROM python:3.11-slim-bookworm

# nodejs/npm only install socket.io-client, which the server hands to browsers; gcc
# builds the forward path's inner loop (media/_fanout.c) during `pip install`.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependency layers first, so code changes do not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Only what the node runs: no .venv, node_modules, tests or bench from the build context.
COPY pyproject.toml setup.py README* ./
COPY server ./server
COPY media ./media
COPY client ./client
RUN pip install --no-cache-dir .

# Listen on all interfaces inside the container (the default is 127.0.0.1).
ENV PEERCIRCLE_HOST=0.0.0.0 \
    PEERCIRCLE_PORT=8080 \
    PYTHONUNBUFFERED=1
EXPOSE 8080

# Run from /app so `python -m server` finds client/ and node_modules/ beside it.
CMD ["python", "-m", "server"]
