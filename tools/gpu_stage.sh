#!/usr/bin/env bash
# Stage, for the GPU machine (CPython 3.12 x86-64, CUDA 13 driver, no package registry, <= 64 MiB per call), every
# Python package that tools/gpu_check.sh needs and that machine lacks, plus what builds dalisr's C extension there.
#
# From the root of the checkout that the device tool sends (it writes .gpu/ there, ignored through
# .git/info/exclude):
#   bash tools/gpu_stage.sh            # or: bash /path/to/other/worktree/tools/gpu_stage.sh
# Output: .gpu/p01 ... .gpu/pNN, each <= 56 MiB: parts of one xz stream (a tar of site/ and gpuext/) plus, in
# every part, MANIFEST (the parts' sha256) and install.sh. On the GPU machine, one call per part copies it:
#   mkdir -p /tmp/gpuparts && cp .gpu/pNN/* /tmp/gpuparts/
# and `bash /tmp/gpuparts/install.sh` (once all are there) unpacks /tmp/site (PYTHONPATH) and /tmp/gpuext
# (CPython 3.12 headers and a prebuilt dalisr/_ext/pngrows for tools/gpu_setup.sh). BENCHMARKS.md ("GPU figures:
# how to take them") has the calls.
#
# What is staged and why (the machine's own packages are listed in the device notes; none of them is carried):
# * nvidia-dali-cuda130 2.4.0, not -cuda120: the machine's driver and libraries are CUDA 13 (torch cu130), and
#   the cuda130 wheel is half the size (190 MiB against 405 MiB: no code for GPUs older than Turing). Its
#   libraries look for the CUDA ones beside it (../nvjpeg, ../cu13/lib, ...) and in /usr/local/cuda/lib64;
#   nvimgcodec-cu13 (GPU image decoding), nvidia-nvjpeg 13.0 (JPEG) and nvjpeg2k-cu13 (JPEG 2000) are carried.
#   Left out: NPP, cuFFT, cuFile (DALI loads them only for debayer/remap, spectrograms and GDS, which dalisr
#   does not use), nvTIFF and nvCOMP (TIFF and the inflate operator), and the nvimgcodec nvTIFF extension.
# * DALI's Python requirements the machine lacks: astunparse, gast, optree, nvtx, makefun, libcst.
# * dalisr's: lmdb, pymemcache, isal; BasicSR 1.4.2 (an sdist: built here into a py3-none-any wheel, no compiled
#   part), realesrgan 0.3.0 (degrade-basicsr*), addict, future, yapf, platformdirs (BasicSR's requirements).
# Wheels are installed here with CPython 3.12 (pip --target, as the machine would) and the tree is pruned: the
# extension modules for other Pythons and C headers go. nvidia/__init__.py becomes a pkgutil namespace so that the
# machine's own nvidia.* packages stay importable beside /tmp/site.
#
#   GPU_STAGE_CACHE   download cache (default ~/.cache/dalisr-gpu)
#   PY312             a CPython 3.12 (default: python3.12 on PATH, else pyenv's); without one, pip installs the
#                     cp312 wheels from python3 with --python-version 3.12 and no prebuilt extension is made
#   BUILD_PYTHON      a Python with torch, to build BasicSR's wheel (it imports torch in setup.py; default .venv)
#   XZ_LEVEL          xz preset (default 9)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)       # the checkout holding this script (pngrows.c comes from it)
root=$(git rev-parse --show-toplevel)         # the checkout that travels: .gpu/ goes there
cd "$root"
excl=$(git rev-parse --git-path info/exclude); mkdir -p "$(dirname "$excl")"
grep -qx '/.gpu/' "$excl" 2>/dev/null || echo '/.gpu/' >> "$excl"
cache=${GPU_STAGE_CACHE:-$HOME/.cache/dalisr-gpu}
whl=$cache/whl-cu130; mkdir -p "$whl"
if [ -z "${PY312:-}" ]; then  # the first that runs (a pyenv shim may exist without the version behind it)
  for c in python3.12 $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python 2>/dev/null); do
    if "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then PY312=$(command -v "$c"); break; fi
  done
fi
PY312=${PY312:-}
BUILD_PYTHON=${BUILD_PYTHON:-$root/.venv/bin/python}

# pinned: one version of each, as tested on the CPU machine where it has the same package
PKGS="nvidia-dali-cuda130==2.4.0 nvidia-nvimgcodec-cu13==0.9.0.20 nvidia-nvjpeg==13.0.4.44
nvidia-nvjpeg2k-cu13==0.11.0.51 astunparse==1.6.3 gast==0.7.0 optree==0.20.0 nvtx==0.2.17 makefun==1.16.0
libcst==1.9.0 lmdb==3.0.0 pymemcache==4.0.0 isal==1.9.1 realesrgan==0.3.0 addict==2.4.0 future==1.0.0
yapf==0.43.0 platformdirs==4.14.9"
echo "== download (cache $whl)"
# shellcheck disable=SC2086
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any \
  -d "$whl" $PKGS 2>&1 | grep -v '^WARNING: Location' || true
if ! ls "$whl"/basicsr-1.4.2-*.whl >/dev/null 2>&1; then
  echo "== build basicsr 1.4.2's wheel with $BUILD_PYTHON"
  "$BUILD_PYTHON" -m pip wheel -q --no-deps --no-build-isolation 'basicsr==1.4.2' -w "$whl" 2>&1 \
    | grep -v '^WARNING: Location' || true
fi

echo "== check the wheels: CPython 3.12 / abi3 / py3, manylinux x86-64 or any, one version of each"
python3 - "$whl" $PKGS basicsr==1.4.2 <<'PY'
import os, re, sys, zipfile
folder, wanted = sys.argv[1], sys.argv[2:]
names = {}
for w in wanted:
    n, v = w.split("==")
    names[re.sub(r"[-_.]+", "_", n).lower()] = v
bad, seen = [], {}
for f in sorted(os.listdir(folder)):
    if not f.endswith(".whl"):
        continue
    parts = f[:-4].split("-")
    name, version, py, abi, plat = parts[0].lower(), parts[1], parts[-3], parts[-2], parts[-1]
    if name not in names or names[name] != version:
        continue  # an older download in the cache: not staged
    seen.setdefault(name, []).append(version)
    pys, plats = py.split("."), plat.split(".")
    ok_py = any(p in ("py3", "py2", "cp312") for p in pys) and abi in ("none", "abi3", "cp312")
    ok_plat = plat == "any" or all(p.endswith("x86_64") and p.startswith("manylinux") for p in plats)
    with zipfile.ZipFile(os.path.join(folder, f)) as z:
        compiled = [n for n in z.namelist() if n.endswith(".so") or ".so." in n]
    if not (ok_py and ok_plat) or (plat == "any" and compiled):
        bad.append(f"{f}: tags {py}-{abi}-{plat}, {len(compiled)} compiled files")
    print(f"  {f}  ({os.path.getsize(os.path.join(folder, f)) / 2**20:.1f} MiB)")
missing = sorted(set(names) - set(seen))
twice = {k: v for k, v in seen.items() if len(v) > 1}
if bad or missing or twice:
    sys.exit(f"wheels not as expected: bad {bad}, missing {missing}, twice {twice}")
PY
staged_whl=$(python3 - "$whl" $PKGS basicsr==1.4.2 <<'PY'
import os, re, sys
folder, wanted = sys.argv[1], sys.argv[2:]
keep = {re.sub(r"[-_.]+", "_", w.split("==")[0]).lower(): w.split("==")[1] for w in wanted}
for f in sorted(os.listdir(folder)):
    p = f.split("-")
    if f.endswith(".whl") and keep.get(p[0].lower()) == p[1]:
        print(os.path.join(folder, f))
PY
)
# shellcheck disable=SC2086
echo "   wheels: $(du -cb $staged_whl | tail -n 1 | awk '{printf "%.1f MiB", $1 / 2^20}')"

work=$cache/tree; rm -rf "$work"; mkdir -p "$work/site" "$work/gpuext"
echo "== install into a CPython 3.12 tree (${PY312:-python3 --python-version 3.12})"
if [ -n "$PY312" ]; then
  # shellcheck disable=SC2086
  "$PY312" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$work/site" $staged_whl
else
  # shellcheck disable=SC2086
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --only-binary=:all: \
    --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform any \
    --target "$work/site" $staged_whl
fi
( cd "$work/site"
  find . -name '*.cpython-3*-x86_64-linux-gnu.so' ! -name '*.cpython-312-x86_64-linux-gnu.so' -delete
  rm -rf bin nvidia/dali/include nvidia/nvimgcodec/include yapftests nvidia/nvimgcodec/extensions/libnvtiff_ext.so.*
  find . -type d -name tests -prune -exec rm -rf {} +
  printf '%s\n' '# dalisr gpu_stage.sh: a namespace across sys.path, so that the machine'"'"'s own nvidia.* stay visible' \
    '__path__ = __import__("pkgutil").extend_path(__path__, __name__)' > nvidia/__init__.py )
echo "   tree: $(du -sb "$work/site" | awk '{printf "%.0f MiB", $1 / 2^20}')"

if [ -n "$PY312" ]; then
  echo "== CPython 3.12 headers and a prebuilt pngrows (the fallbacks of tools/gpu_setup.sh)"
  inc=$("$PY312" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  suffix=$("$PY312" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
  mkdir -p "$work/gpuext/include" && cp -r "$inc" "$work/gpuext/include/"
  gcc -O3 -fPIC -shared -I"$inc" "$here/dalisr/_ext/pngrows.c" -o "$work/gpuext/pngrows$suffix"
  "$PY312" -V > "$work/gpuext/BUILT_WITH"
  ( cd "$work/gpuext" && PYTHONPATH=. "$PY312" -c 'import pngrows' )
fi

echo "== compress (xz -${XZ_LEVEL:-9}, x86 filter) and split into parts of 56 MiB"
rm -rf "$cache/parts" .gpu; mkdir -p "$cache/parts"
tar -C "$work" -cf - site gpuext | xz --x86 --lzma2=preset="${XZ_LEVEL:-9}" -T"$(nproc)" \
  | split -b 56m -d -a 2 - "$cache/parts/stage.tar.xz."
( cd "$cache/parts" && sha256sum stage.tar.xz.* > MANIFEST )
cat > "$cache/parts/install.sh" <<'INNER'
#!/usr/bin/env bash
# Unpack the parts copied into /tmp/gpuparts into /tmp/site and /tmp/gpuext (once). Made by tools/gpu_stage.sh.
set -euo pipefail
[ -f /tmp/site/.done ] && { echo "install: /tmp/site is there already"; exit 0; }
cd /tmp/gpuparts
if ! sha256sum --quiet -c MANIFEST; then
  echo "install: parts missing or damaged; have: $(ls stage.tar.xz.* 2>/dev/null | tr '\n' ' ')" >&2; exit 1
fi
rm -rf /tmp/site /tmp/gpuext
t0=$SECONDS
if command -v xz >/dev/null; then unxz() { xz -dc; }
else unxz() { python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)'; }
fi
# shellcheck disable=SC2046
cat $(cut -d' ' -f3 MANIFEST) | unxz | tar -xf - -C /tmp
touch /tmp/site/.done
echo "install: /tmp/site ($(du -sm /tmp/site | cut -f1) MB) and /tmp/gpuext unpacked in $((SECONDS - t0)) s"
INNER
chmod +x "$cache/parts/install.sh"
n=0
for f in "$cache"/parts/stage.tar.xz.*; do
  n=$((n + 1)); d=$(printf '.gpu/p%02d' "$n"); mkdir -p "$d"
  cp "$f" "$cache/parts/MANIFEST" "$cache/parts/install.sh" "$d/"
done
echo "staged $n parts:"
for d in .gpu/p*; do echo "  $d  $(du -sb "$d" | awk '{printf "%.1f MiB", $1 / 2^20}')"; done
echo "calls: one per part, back to back: carry [\".gpu/pNN\"], command: mkdir -p /tmp/gpuparts && cp .gpu/pNN/* /tmp/gpuparts/"
echo "then: bash /tmp/gpuparts/install.sh && export PYTHONPATH=/tmp/site:\$PWD (BENCHMARKS.md has the whole plan)"
