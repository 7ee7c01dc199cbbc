#!/usr/bin/env bash
# The one command that sets up and runs the tests (README and .ci/run both call it).
#
#   bash scripts/test.sh                 full tier: every test (what CI runs)
#   bash scripts/test.sh --quick         quick tier: leaves out the tests marked `slow` (under 3 minutes)
#   bash scripts/test.sh --gates         ruff format --check, ruff check and mypy first, then the full tier
#   bash scripts/test.sh --gates-only    the gates without the tests
#
# Any other argument goes to pytest (e.g. `bash scripts/test.sh --quick tests/core/test_stats.py -x`).
# HYPOTHESIS_PROFILE=nightly runs the property tests non-derandomised with more examples.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${AMR_BENCH_VENV:-.venv}"

quick=0
gates=0
tests=1
pytest_args=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --gates) gates=1 ;;
    --gates-only) gates=1; tests=0 ;;
    *) pytest_args+=("$arg") ;;
  esac
done

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# torch first and pinned: otherwise pip pulls the newest CUDA build (gigabytes).
"$VENV/bin/pip" install -q torch==2.13.0
"$VENV/bin/pip" install -q -e ".[baselines,dev]" torch==2.13.0
# msclap without its pins (numpy<2, torchaudio); its real dependencies are in the baselines extra.
"$VENV/bin/pip" install -q --no-deps msclap==1.3.4
export HF_HUB_OFFLINE=1

if [ "$gates" = 1 ]; then
  echo "== ruff format --check"
  "$VENV/bin/ruff" format --check .
  echo "== ruff check"
  "$VENV/bin/ruff" check .
  echo "== mypy (amr_bench, baselines/amr_bench_baselines: see [tool.mypy] in pyproject.toml)"
  MYPYPATH=baselines "$VENV/bin/mypy"
fi
[ "$tests" = 1 ] || exit 0

if [ "$quick" = 1 ]; then
  pytest_args=(-m "not slow" "${pytest_args[@]+"${pytest_args[@]}"}")
fi
exec "$VENV/bin/python" -m pytest -q "${pytest_args[@]+"${pytest_args[@]}"}"
