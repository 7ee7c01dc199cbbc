#!/usr/bin/env bash
# GPU check of the DETR baselines, at most 8 minutes on one CUDA machine:
#   0. installs what it runs when the interpreter lacks it (torch==2.13.0, amr-bench with the
#      baselines extra from this checkout, msclap==1.3.4 without its pins), as scripts/test.sh does;
#      GPU_CHECK_INSTALL=0 refuses to install and fails instead;
#   1. training throughput (samples/s) and peak memory of the default AM-DETR for a fixed number
#      of steps, fp32 and bf16 autocast;
#   2. a checkpoint trained on the GPU predicts the same windows on the CPU;
#   3. 2-process DistributedDataParallel training, if two GPUs exist;
#   4. features for one minute of audio (random-weight MS-CLAP: no downloads).
# Exit status: 0 every check passed; 1 a check (or the install) failed; 2 nothing was checked
# (no CUDA GPU here): a run that checked nothing never passes.
#
#   benchmarks/gpu_check.sh [WORK_DIR]        (PYTHON=... to choose the interpreter)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python}
export PYTHONPATH="$ROOT:$ROOT/baselines${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1
STEPS=${GPU_CHECK_STEPS:-50}
DEV=${GPU_CHECK_DEVICE:-cuda}  # GPU_CHECK_DEVICE=cpu: a dry run of the script's logic on the CPU

TORCH_PIN=2.13.0
MSCLAP_PIN=1.3.4
# Everything the checks import, and torch at the pinned version (a local build suffix such as +cu128 is fine).
NEEDS="import importlib.util, torch
wanted = ('safetensors', 'soundfile', 'scipy', 'amr_bench', 'amr_bench_baselines', 'msclap', 'transformers',
          'tokenizers', 'torchlibrosa', 'librosa')
missing = [m for m in wanted if not importlib.util.find_spec(m)]
assert not missing, 'missing: ' + ', '.join(missing)
assert torch.__version__.split('+')[0] == '$TORCH_PIN', 'torch ' + torch.__version__ + ', not $TORCH_PIN'
print(torch.cuda.is_available())"

if ! CUDA_OK=$("$PY" -c "$NEEDS" 2>/dev/null); then
    if [ "${GPU_CHECK_INSTALL:-1}" = 0 ]; then
        echo "gpu_check: $PY lacks what the checks run and GPU_CHECK_INSTALL=0 forbids installing it:"
        "$PY" -c "$NEEDS" 2>&1 | tail -1 || true
        exit 1
    fi
    echo "== 0. install (torch==$TORCH_PIN, amr-bench[baselines] from $ROOT, msclap==$MSCLAP_PIN)"
    # torch first and pinned: otherwise pip pulls the newest build; msclap without its pins
    # (numpy<2, torchaudio): its real dependencies are in the baselines extra.
    "$PY" -m pip install -q "torch==$TORCH_PIN" \
        && "$PY" -m pip install -q -e "$ROOT[baselines]" "torch==$TORCH_PIN" \
        && "$PY" -m pip install -q --no-deps "msclap==$MSCLAP_PIN" \
        || { echo "gpu_check: FAILED to install what the checks need (see pip's message above)"; exit 1; }
    if ! CUDA_OK=$("$PY" -c "$NEEDS"); then
        echo "gpu_check: FAILED: after the install $PY still cannot import what the checks run"
        exit 1
    fi
fi

if [ "$DEV" = cuda ] && [ "$CUDA_OK" != True ]; then
    echo "gpu_check: no CUDA GPU here (torch.cuda.is_available() is False): nothing checked"
    exit 2
fi
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
CLI=("$PY" -m amr_bench)
N_GPU=$("$PY" -c "import torch; print(torch.cuda.device_count())")
"$PY" -c "import torch; print('gpu_check:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU (dry run on $DEV)', '| GPUs', torch.cuda.device_count(), '| torch', torch.__version__)"
STATUS=0
fail() { echo "FAIL: $*"; STATUS=1; }

echo "== 1. throughput of the default AM-DETR ($STEPS steps, batch 32, 60 frames)"
timeout 60 "$PY" "$ROOT/benchmarks/bench_train.py" --device "$DEV" --steps "$STEPS" --set train.bf16=false || fail "fp32 throughput"
timeout 60 "$PY" "$ROOT/benchmarks/bench_train.py" --device "$DEV" --steps "$STEPS" --set train.bf16=true || fail "bf16 throughput"

echo "== 2. a GPU-trained checkpoint predicts the same on the CPU"
"${CLI[@]}" simulate "$WORK/sim" --recordings 80 --seed 0 --style clotho-moment >/dev/null
if timeout 120 "${CLI[@]}" train am-detr --data "$WORK/sim" --out "$WORK/run" --device "$DEV" --epochs 2 -q \
        --set predict.round_to=0 >/dev/null; then
    "${CLI[@]}" predict "$WORK/run" --data "$WORK/sim" --out "$WORK/gpu.jsonl" --device "$DEV" >/dev/null
    "${CLI[@]}" predict "$WORK/run" --data "$WORK/sim" --out "$WORK/cpu.jsonl" --device cpu >/dev/null
    "$PY" - "$WORK/gpu.jsonl" "$WORK/cpu.jsonl" <<'PYEOF' || fail "GPU and CPU predictions differ"
import json, sys
import numpy as np
gpu, cpu = ([json.loads(x) for x in open(p)] for p in sys.argv[1:3])
def by_start(windows):  # each query's windows in start order: near-tied scores may swap ranks
    w = np.asarray(windows)
    return w[np.lexsort((w[:, 1], w[:, 0]))]
assert [r["qid"] for r in gpu] == [r["qid"] for r in cpu]
diff = max(float(np.abs(by_start(g["pred_relevant_windows"]) - by_start(c["pred_relevant_windows"])).max())
           for g, c in zip(gpu, cpu))
print(f"max |GPU - CPU| over {len(gpu)} queries x 10 windows (seconds and scores): {diff:.2e}")
sys.exit(0 if diff < 1e-2 else 1)
PYEOF
else
    fail "training on the GPU"
fi

echo "== 3. DistributedDataParallel"
if [ "$N_GPU" -ge 2 ]; then
    timeout 120 "$PY" -m torch.distributed.run --standalone --nproc-per-node 2 -m amr_bench train am-detr \
        --data "$WORK/sim" --out "$WORK/run-ddp" --device cuda --epochs 1 -q >/dev/null && echo "2-process DDP: ok" \
        || fail "2-process DDP"
else
    echo "skipped: $N_GPU GPU (2-process DDP needs two)"
fi

echo "== 4. features for one minute of audio (random-weight MS-CLAP)"
timeout 120 "$PY" - "$WORK" <<'PYEOF' || fail "feature extraction"
import sys, time
from pathlib import Path
import numpy as np, soundfile as sf
from amr_bench_baselines.zeroshot.clap_model import random_clap
from tests.helpers.tiny_gpt2 import write_tiny_gpt2
from amr_bench_baselines.zeroshot.extract import extract_audio_features
work = Path(sys.argv[1])
(work / "audio").mkdir(exist_ok=True)
sf.write(work / "audio" / "minute.wav", np.random.default_rng(0).normal(0, 0.1, 60 * 44100).astype("float32"), 44100)
adapter = random_clap(write_tiny_gpt2(work / "tiny-gpt2"))
t0 = time.perf_counter()
summary = extract_audio_features(adapter, [work / "audio" / "minute.wav"], work / "feats", progress=False)
frames = np.load(work / "feats" / "clap" / "minute.npz")["features"].shape
print(f"60 s of audio -> features {frames} in {time.perf_counter() - t0:.1f} s (extractor on {next(adapter.model.parameters()).device})")
sys.exit(0 if frames[0] in (60, 61) and not summary.problems else 1)
PYEOF

[ "$STATUS" -eq 0 ] && echo "gpu_check: all checks passed" || echo "gpu_check: some checks FAILED"
exit "$STATUS"
