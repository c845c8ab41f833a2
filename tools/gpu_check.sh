#!/usr/bin/env bash
# Every GPU check of dalisr in one command, on a machine with CUDA and no package registry.
#
# On the CPU machine, from the project root (once):
#   mkdir -p .git/info && EXTRA="pillow tqdm pytest pluggy iniconfig packaging pygments" bash ../shared/gpu/stage-dali.sh   # DALI and the wheels the GPU machine lacks
#   .venv/bin/dalisr make-sample datasets/gpu_test_sample --limit 8         # the tests' sample set (no scikit-image there)
#   .venv/bin/dalisr make-sample datasets/sample               # the bench's data (if not made yet)
# On the GPU machine: one call per wheel part (see stage-dali.sh's output), then one call that carries
#   datasets/gpu_test_sample, datasets/sample/DIV2K_train_HR_sub.lmdb, datasets/sample/DIV2K_train_LR_bicubic_X4_sub.lmdb
# and runs:
#   bash /tmp/gpuparts/install.sh && export PYTHONPATH=/tmp/site:$PWD || exit; bash tools/gpu_check.sh
#
# It writes under $OUT (default out/gpu): nvidia-smi.txt, versions.txt, pytest-gpu.txt, bench.txt,
# bench.json, train-nccl.txt; and prints a short summary. BENCHMARKS.md says where the figures go.
set -u
cd "$(dirname "$0")/.."
out=${OUT:-out/gpu}
mkdir -p "$out"
python=${PYTHON:-python3}
status=0

nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
"$python" - > "$out/versions.txt" 2>&1 <<'PY' || status=1
import platform, cv2, lmdb, numpy, torch, nvidia.dali, PIL, tqdm
print("python", platform.python_version(), "| torch", torch.__version__, "| CUDA", torch.version.cuda,
      "| DALI", nvidia.dali.__version__, "| OpenCV", cv2.__version__, "| numpy", numpy.__version__,
      "| Pillow", PIL.__version__)
print("device", torch.cuda.get_device_name(0), "| cores", __import__("os").cpu_count())
PY
cat "$out/versions.txt"

sample=${DALISR_TEST_SAMPLE:-datasets/gpu_test_sample}
echo "== gpu tests (sample set $sample)"
DALISR_TEST_SAMPLE="$sample" "$python" -m pytest -m gpu tests/gpu -q -p no:cacheprovider -x \
    > "$out/pytest-gpu.txt" 2>&1 || status=1
tail -n 3 "$out/pytest-gpu.txt"

echo "== bench (${BENCH_ARGS:-defaults})"
# shellcheck disable=SC2086
"$python" tools/bench.py --json "$out/bench.json" ${BENCH_ARGS:-} > "$out/bench.txt" 2>&1 || status=1
tail -n 20 "$out/bench.txt"

echo "== train_example under torchrun, NCCL"
"$python" -m torch.distributed.run --nproc_per_node 1 --master_addr 127.0.0.1 --master_port 29533 \
    tools/train_example.py --device gpu --epochs 2 > "$out/train-nccl.txt" 2>&1 || status=1
tail -n 2 "$out/train-nccl.txt"
exit $status
