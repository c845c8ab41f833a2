#!/usr/bin/env bash
# Every GPU check of dalisr in one command, on a machine with CUDA and no package registry, in about 5 minutes.
#
# Staging (CPU machine) and the device calls: BENCHMARKS.md, "GPU figures: how to take them". On the GPU machine,
# after the wheel parts are copied and unpacked (tools/gpu_stage.sh's install.sh):
#   export PYTHONPATH=/tmp/site:$PWD; bash tools/gpu_check.sh
#
# Steps (each under its own timeout, all under one budget; a step that fails does not stop the others):
#   env    nvidia-smi, versions, what imports, the CUDA libraries the machine has
#   ext    dalisr's C extension built for this Python (tools/gpu_setup.sh), or the OpenCV fallback
#   data   the tests' sample set and the bench's LMDBs: used if present (carried), else made here (scikit-image)
#   smoke  one DALI GPU decode each of PNG, JPEG, JPEG 2000 (a quick diagnosis when everything else fails)
#   bench  tools/bench.py: the GPU modes, BasicSR's loader with its CUDA prefetcher (baseline) on the same cores,
#          the decode limit, Real-ESRGAN's feed_data on the GPU against the in-loader degradation, GPU MB per mode
#   tests  pytest -m gpu tests/gpu (pytest-xdist when there; per-test timeout when pytest-timeout is there)
#   nccl   tools/train_example.py under torchrun with NCCL (in the background while the tests run)
# Out ($OUT, default out/gpu): summary.txt (also printed), bench.json, pytest-gpu.xml, logs.tar.gz (every step's
# log, repacked after each step, so a call cut short still brings back what ran).
#
#   PYTHON              the Python (default python3)
#   GPU_STEPS           the steps to run (default "env ext data smoke bench tests nccl"), e.g. "tests" for a rerun
#   GPU_CHECK_BUDGET    seconds for all steps (default 330): each step gets min(its cap, what is left)
#   BENCH_MODES         the bench's modes (default below); EXTRA_BENCH_MODES are appended
#   BENCH_ARGS          more tools/bench.py options (default: 30 batches after 5 warm-up, limit 1 s)
#   PYTEST_ARGS         more pytest options (e.g. -k ...); GPU_TEST_WORKERS xdist workers (default 8)
#   DALISR_TEST_SAMPLE  the tests' sample set (default datasets/gpu_test_sample); BENCH_DATA (datasets/sample)
set -u -o pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
out=${OUT:-out/gpu}
mkdir -p "$out"
out=$(cd "$out" && pwd)
logs=/tmp/gpu_check_logs
rm -rf "$logs" && mkdir -p "$logs"
python=${PYTHON:-python3}
steps=" ${GPU_STEPS:-env ext data smoke bench tests nccl} "
budget=${GPU_CHECK_BUDGET:-330}
deadline=$((SECONDS + budget))
sample=${DALISR_TEST_SAMPLE:-datasets/gpu_test_sample}
bench_data=${BENCH_DATA:-datasets/sample}
# The bench's modes, most wanted first (a run cut short keeps the first ones): every *-gpu mode with the baseline
# (BasicSR's path, CUDA prefetcher) and the decode limit that the ratios need, the degradation: dalisr's with the
# noise drawn on the GPU (its default there) against Real-ESRGAN's feed_data on the GPU, the same dataset without
# degradation (the reference of the worker-CPU figure) and the degradation with the noise drawn in the source
# (issue 28's way, for the difference), the ImageNet-like JPEG pair (x4 from HR JPEGs: HAT's class with the CUDA
# prefetcher vs dalisr under mixed), then the CPU PNG mode for reference. A mode this checkout's tools/bench.py
# does not know is dropped (and said so). One more mode goes at its place here, or in EXTRA_BENCH_MODES for one run.
modes=${BENCH_MODES:-baseline,dalisr-png-gpu,dalisr-png-dali-gpu,dalisr-raw-gpu,dalisr-jp2-gpu,dalisr-png-seek-gpu,degrade-dalisr-gpu,degrade-basicsr-gpu,realesrgan-dalisr-gpu,degrade-dalisr-source-gpu,imagenet-dalisr-gpu,imagenet-hat,limit,dalisr-png}
[ -n "${EXTRA_BENCH_MODES:-}" ] && modes="$modes,$EXTRA_BENCH_MODES"
bench_args=${BENCH_ARGS:---iters 30 --warmup 5 --limit-seconds 1}

pack() { tar -czf "$out/logs.tar.gz" -C /tmp gpu_check_logs 2>/dev/null; }
note() { echo "$*" | tee -a "$logs/steps.txt"; }

# step NAME CAP LOG COMMAND...: COMMAND (a program or a function below) with its output in $logs/LOG, under
# min(CAP, budget left) seconds; at the limit its whole process group gets SIGINT (pytest still reports), then KILL
step() {
  local name=$1 cap=$2 log=$3 t rc t0
  shift 3
  case "$steps" in *" $name "*) ;; *) return 0 ;; esac
  t=$((deadline - SECONDS - 10))
  [ "$cap" -lt "$t" ] && t=$cap
  if [ "$t" -lt 15 ]; then note "$name: SKIPPED (the budget of ${budget}s is spent)"; return 1; fi
  t0=$SECONDS
  echo "== $name (at most ${t}s) -> $log"
  timeout -s INT -k 15 "$t" bash -c '"$@"' step "$@" > "$logs/$log" 2>&1
  rc=$?
  case $rc in
    0) note "$name: ok ($((SECONDS - t0))s)" ;;
    124|137) note "$name: TIMED OUT after $((SECONDS - t0))s (cap ${t}s)" ;;
    *) note "$name: FAILED, exit status $rc ($((SECONDS - t0))s)" ;;
  esac
  pack
  return $rc
}

env_report() {
  nvidia-smi || echo "nvidia-smi: not there or failing"
  echo "--- python"
  "$python" - <<'PY'
import importlib, os, platform, sys
print("python", platform.python_version(), sys.executable, "| cores", os.cpu_count())
try:  # basicsr 1.4.2 on torchvision >= 0.17 needs dalisr's alias, as in the tests, the bench and dalisr train
    sys.path.insert(0, "tools")
    from benchmodes.common import basicsr_importable
    basicsr_importable()
except Exception as exc:  # noqa: BLE001
    print("dalisr's torchvision alias for basicsr:", type(exc).__name__, exc)
for name in ("numpy", "cv2", "torch", "torchvision", "nvidia.dali", "nvidia.nvimgcodec", "lmdb", "isal", "pymemcache",
             "PIL", "skimage", "scipy", "yaml", "click", "tqdm", "setuptools", "distutils.version", "basicsr",
             "realesrgan", "xdist", "pytest_timeout"):
    try:
        m = importlib.import_module(name)
        print(f"{name:18} {getattr(m, '__version__', '?'):24} {getattr(m, '__file__', '')}")
    except Exception as exc:  # noqa: BLE001 - every failure is a finding here
        print(f"{name:18} NOT IMPORTABLE: {type(exc).__name__}: {exc}")
try:
    import torch
    print("torch CUDA", torch.version.cuda, "| available", torch.cuda.is_available(),
          "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
    import nvidia.dali.backend as b
    print("DALI CUDA runtime", getattr(b, "GetCudaVersion", lambda: "?")(),
          "| driver", getattr(b, "GetCudaDriverVersion", lambda: "?")())
except Exception as exc:  # noqa: BLE001
    print("CUDA / DALI:", type(exc).__name__, exc)
PY
  echo "--- CUDA libraries DALI may load (its own folder, /usr/local/cuda/lib64, the linker cache)"
  ls /tmp/site/nvidia/*/lib* /usr/local/cuda/lib64 2>/dev/null | grep -E 'nvjpeg|npp|cufft|nvcomp|cufile' | sort -u
  ldconfig -p 2>/dev/null | grep -E 'libnvjpeg|libnppc|libcufft|libcuda\.so' || true
  "$python" -m pip list 2>/dev/null > "$logs/pip-list.txt" || true
}

make_data() {
  "$python" - "$sample" "$bench_data" <<'PY'
import os, subprocess, sys
from dalisr.prep.sample_images import SampleSet
for root, extra in ((sys.argv[1], ["--limit", "8"]), (sys.argv[2], [])):
    if SampleSet(root).exists():
        print(f"{root}: there (carried)")
        continue
    print(f"{root}: making it (dalisr make-sample {' '.join(extra)})", flush=True)
    subprocess.run([sys.executable, "-m", "dalisr", "make-sample", root, *extra], check=True)
try:  # the imagenet-* bench modes' JPEGs (made on first use otherwise, inside a timed mode's start)
    from dalisr.prep.sample_imagenet import ImageNetSample, make_imagenet_sample
except ImportError:
    sys.exit(0)
imagenet = ImageNetSample(os.path.join(sys.argv[2], "ImageNet"))
print(f"{imagenet.root}: {'there' if imagenet.exists() else 'making it'}", flush=True)
if not imagenet.exists():
    make_imagenet_sample(imagenet.root)
PY
  du -sh "$sample" "$bench_data"/*
}

smoke() {
  "$python" - "$sample" <<'PY'
import glob, os, sys, time
import cv2
import numpy as np
from nvidia.dali import fn, pipeline_def
png = sorted(glob.glob(os.path.join(sys.argv[1], "DIV2K_train_HR_sub", "*.png")))[0]
img = cv2.imread(png)
blobs = {"png": open(png, "rb").read(), "jpeg": cv2.imencode(".jpg", img)[1].tobytes(),
         "jpeg2000": cv2.imencode(".jp2", img)[1].tobytes()}
bad = 0
for name, blob in blobs.items():
    @pipeline_def(batch_size=1, num_threads=2, device_id=0)
    def pipe():
        data = fn.external_source(source=lambda: [np.frombuffer(blob, np.uint8)], batch=True)
        return fn.decoders.image(data, device="mixed")
    try:
        t = time.perf_counter()
        p = pipe()
        p.build()
        out = p.run()[0]
        arr = np.asarray(out.as_cpu()[0])
        ok = arr.shape == img.shape
        print(f"\nsmoke: {name:9} mixed decode {arr.shape} {'ok' if ok else 'WRONG SHAPE'} ({time.perf_counter() - t:.2f}s)")
        bad += not ok
    except Exception as exc:  # noqa: BLE001
        print(f"\nsmoke: {name:9} mixed decode FAILED: {type(exc).__name__}: {str(exc)[:160]}")
        bad += 1
sys.exit(1 if bad else 0)
PY
}

tests() {
  local extra=""
  "$python" -c 'import xdist' 2>/dev/null && extra="-n ${GPU_TEST_WORKERS:-8} --dist loadfile"
  "$python" -c 'import pytest_timeout' 2>/dev/null && extra="$extra --timeout 150"
  # shellcheck disable=SC2086
  DALISR_TEST_SAMPLE="$sample" "$python" -m pytest -m gpu tests/gpu -p no:cacheprovider -q -rfEs --durations 12 \
    --junitxml "$out/pytest-gpu.xml" $extra ${PYTEST_ARGS:-}
}

nccl() {
  "$python" -m torch.distributed.run --nproc_per_node 1 --master_addr 127.0.0.1 --master_port 29533 \
    tools/train_example.py --device gpu --epochs 2
}

export python sample bench_data out logs PYTHON=$python
export -f env_report make_data smoke tests nccl
known=$("$python" - "$modes" 2>/dev/null <<'PY'
import sys
sys.path.insert(0, "tools")
from benchmodes import LABELS
print(",".join(m for m in sys.argv[1].split(",") if m in LABELS))
PY
) || known=""
if [ -n "$known" ] && [ "$known" != "$modes" ]; then
  dropped=$(comm -23 <(tr , '\n' <<< "$modes" | sort) <(tr , '\n' <<< "$known" | sort) | tr '\n' ' ')
  echo "bench: modes this tools/bench.py lacks, dropped: $dropped" | tee -a "$logs/steps.txt"
  modes=$known
fi
echo "gpu_check: steps${steps}; budget ${budget}s; out $out; logs $logs"
step env 45 env.txt env_report
step ext 60 ext.txt bash tools/gpu_setup.sh
step data 60 data.txt make_data
step smoke 45 smoke.txt smoke
# shellcheck disable=SC2086
step bench 150 bench.txt "$python" tools/bench.py --data "$bench_data" --modes "$modes" --keep-going \
  --mode-timeout 45 --json "$out/bench.json" $bench_args
nccl_pid=""
case "$steps" in *" nccl "*) step nccl 120 train-nccl.txt nccl & nccl_pid=$! ;; esac
step tests 170 pytest-gpu.txt tests
[ -n "$nccl_pid" ] && wait "$nccl_pid"
pack

{
  echo "== gpu_check summary ($(date -u +%FT%TZ), $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null \
        | head -n 1 || echo 'no GPU'), $(nproc) cores)"
  cat "$logs/steps.txt"
  grep -h '^pngrows:' "$logs/ext.txt" 2>/dev/null
  grep -h '^smoke: ' "$logs/smoke.txt" 2>/dev/null
  if [ -f "$out/pytest-gpu.xml" ]; then
    "$python" - "$out/pytest-gpu.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
print(f"tests: {n['tests'] - n['failures'] - n['errors'] - n['skipped']} passed, {n['failures']} failed, "
      f"{n['errors']} errors, {n['skipped']} skipped")
for case in root.iter("testcase"):
    for kind in ("failure", "error"):
        for el in case.findall(kind):
            print(f"  {kind.upper()} {case.get('classname')}::{case.get('name')}: {(el.get('message') or '')[:200]}")
PY
  fi
  tail -n 1 "$logs/pytest-gpu.txt" 2>/dev/null | sed 's/^/pytest: /'
  if [ -f "$logs/bench.txt" ]; then
    echo "bench:"
    awk '/^mode /{on=1} /^(FAILED |wrote )/{on=0} on' "$logs/bench.txt" | head -n 60
    grep -E '^ +\[.*FAILED' "$logs/bench.txt"
  fi
  if [ -f "$out/bench.json" ]; then  # a run cut short has no table: its figures so far
    "$python" - "$out/bench.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d.get("partial"):
    print("bench cut short; measured so far:")
    for mode, runs in d["runs"].items():
        for r in runs:
            print(f"  {mode:<22} {r['samples_per_s']:8.1f} samples/s  GPU MB {r.get('gpu_used_mb')}")
PY
  fi
  grep -hiE 'epoch|error' "$logs/train-nccl.txt" 2>/dev/null | tail -n 3 | sed 's/^/nccl: /'
} 2>&1 | tee "$out/summary.txt"
pack
! grep -qE ': (FAILED|TIMED OUT|SKIPPED)' "$logs/steps.txt"
