#!/usr/bin/env bash
# The one command that sets up and runs the tests (README and .ci/run both call it).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${AMR_BENCH_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# torch first and pinned: otherwise pip pulls the newest CUDA build (gigabytes).
"$VENV/bin/pip" install -q torch==2.13.0
"$VENV/bin/pip" install -q -e ".[baselines,dev]" torch==2.13.0
# msclap without its pins (numpy<2, torchaudio); its real dependencies are in the baselines extra.
"$VENV/bin/pip" install -q --no-deps msclap==1.3.4
export HF_HUB_OFFLINE=1
exec "$VENV/bin/python" -m pytest -q "$@"
