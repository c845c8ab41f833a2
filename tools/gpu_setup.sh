#!/usr/bin/env bash
# Build dalisr's C extension (dalisr/_ext/pngrows.c, PNG row unfiltering) in place for the Python that runs the GPU
# checks, and say how it was had. Without it dalisr decodes PNG crops whole with OpenCV (slower, and it warns).
# Tried in order, the first that imports wins:
#   1. python setup.py build_ext --inplace        (that Python's own headers)
#   2. gcc with that Python's headers              (setup.py itself failing, e.g. a setuptools that rejects it)
#   3. gcc with the CPython 3.12 headers carried in /tmp/gpuext/include (tools/gpu_stage.sh), for a Python 3.12
#      whose headers are not installed
#   4. the pngrows built by tools/gpu_stage.sh on the CPU machine (/tmp/gpuext), same EXT_SUFFIX only
# The last line printed is "pngrows: <how>" (or "pngrows: NONE ..."); exit status 0 when built, 1 when not.
#   PYTHON  the Python (default python3); GPUEXT  the carried folder (default /tmp/gpuext)
set -u
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
gpuext=${GPUEXT:-/tmp/gpuext}
suffix=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
target=dalisr/_ext/pngrows$suffix
echo "python: $("$py" -V 2>&1) ($(command -v "$py")), EXT_SUFFIX $suffix, headers $inc" \
     "($([ -f "$inc/Python.h" ] && echo present || echo absent)), gcc: $(command -v gcc || echo absent)"

imports() {  # the module alone (dalisr/__init__ would import torch and DALI)
  "$py" -c 'import importlib.util as u, sys; s = u.spec_from_file_location("dalisr._ext.pngrows", sys.argv[1])
s.loader.exec_module(u.module_from_spec(s)); print("imports:", sys.argv[1])' "$target"
}
gcc_build() { gcc -O3 -fPIC -shared -I"$1" dalisr/_ext/pngrows.c -o "$target"; }

rm -f "$target"
how=""
if [ -f "$inc/Python.h" ] && timeout 45 "$py" setup.py -q build_ext --inplace && imports; then
  how="built here by setup.py build_ext --inplace ($inc)"
elif [ -f "$inc/Python.h" ] && command -v gcc >/dev/null && gcc_build "$inc" && imports; then
  how="built here by gcc with this Python's headers ($inc)"
elif [ -f "$gpuext/include/python3.12/Python.h" ] && [ "$suffix" = .cpython-312-x86_64-linux-gnu.so ] \
     && command -v gcc >/dev/null && gcc_build "$gpuext/include/python3.12" && imports; then
  how="built here by gcc with the carried headers of $(cat "$gpuext/BUILT_WITH" 2>/dev/null || echo CPython 3.12)"
elif [ -f "$gpuext/pngrows$suffix" ] && cp "$gpuext/pngrows$suffix" "$target" && imports; then
  how="the prebuilt one from the CPU machine ($(cat "$gpuext/BUILT_WITH" 2>/dev/null), $gpuext)"
fi
if [ -n "$how" ]; then
  echo "pngrows: $how"
  exit 0
fi
rm -f "$target"
echo "pngrows: NONE (every way failed): dalisr falls back to OpenCV for PNG crops (slower; it warns once)"
exit 1
