#!/usr/bin/env bash
# The main job on the bundled sample data: set up .venv, make the sample set, load training batches.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
[ -f datasets/sample/DIV2K_train_HR_sub.lmdb/meta_info.txt ] || .venv/bin/dalisr make-sample datasets/sample
exec .venv/bin/python tools/demo.py "$@"
