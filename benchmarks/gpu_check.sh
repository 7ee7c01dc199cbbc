#!/usr/bin/env bash
# GPU check of the DETR baselines, at most 8 minutes on one CUDA machine:
#   1. training throughput (samples/s) and peak memory of the default AM-DETR (lighthouse preset,
#      hidden 256) for a fixed number of steps, fp32 and bf16 autocast;
#   2. a checkpoint trained on the GPU predicts the same windows on the CPU;
#   3. 2-process DistributedDataParallel training, if two GPUs exist;
#   4. features for one minute of audio (random-weight MS-CLAP: no downloads).
# Without CUDA it says so and exits 0.
#
#   benchmarks/gpu_check.sh [WORK_DIR]        (PYTHON=... to choose the interpreter)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python}
export PYTHONPATH="$ROOT:$ROOT/baselines${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1
STEPS=${GPU_CHECK_STEPS:-50}
DEV=${GPU_CHECK_DEVICE:-cuda}  # GPU_CHECK_DEVICE=cpu: a dry run of the script's logic on the CPU

if [ "$DEV" = cuda ] && ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA GPU here (torch.cuda.is_available() is False, or torch is missing): nothing checked"
    exit 0
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
