#!/usr/bin/env bash
# Prepares the build context of one decoy image: a hermetic wheelhouse, so that the image build
# itself needs no network (`pip install --no-index`).
#
#   build/images/<decoy>/pip.whl            pip, run straight from its wheel; never installed
#   build/images/<decoy>/wheels/            the decoy's dependencies for the runtime's Python,
#                                           for amd64 and arm64 (pip picks the matching one)
#   build/images/<decoy>/requirements.txt   those wheels, pinned by version and sha256
#   build/images/<decoy>/app/               the honeypods wheel itself, built from this checkout
#
# Only the decoy's own extra is resolved, so the MySQL and port-scan contexts never hold aiohttp or
# asyncssh. Usage: wheelhouse.sh DECOY [OUT_DIR]. PYTHON picks the pip that downloads (python3);
# RUNTIME_PYTHON is the image's Python version (3.13, as in distroless python3-debian13).
set -euo pipefail

decoy=${1:?usage: wheelhouse.sh DECOY [OUT_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/build/images/$decoy}
python=${PYTHON:-python3}
runtime_python=${RUNTIME_PYTHON:-3.13}
abi="cp${runtime_python/./}"

case $decoy in
  portscan | web | mysql | ssh) ;;
  *) echo "wheelhouse: unknown decoy '$decoy'" >&2; exit 2 ;;
esac

pip() { "$python" -m pip --disable-pip-version-check --quiet "$@"; }

rm -rf "$out"
mkdir -p "$out/wheels" "$out/app" "$out/tmp"
pip wheel --no-deps --wheel-dir "$out/app" "$root"
app_wheel=$(echo "$out"/app/honeypods-*.whl)

# Debian 13 has glibc 2.41: every manylinux tag up to that fits.
for arch in x86_64 aarch64; do
  platforms=()
  for minor in 5 12 17 24 26 27 28 31 34 35 36 38 39 40 41; do
    platforms+=(--platform "manylinux_2_${minor}_${arch}")
  done
  platforms+=(--platform "manylinux2014_${arch}" --platform "manylinux2010_${arch}" --platform "manylinux1_${arch}")
  pip download --only-binary=:all: --implementation cp --python-version "$runtime_python" \
    --abi "$abi" --abi abi3 --abi none "${platforms[@]}" \
    --dest "$out/tmp" "${app_wheel}[$decoy]" pip
done
mv "$out"/tmp/pip-*.whl "$out/pip.whl"
rm -f "$out"/tmp/honeypods-*.whl
mv "$out"/tmp/*.whl "$out/wheels/" 2>/dev/null || true  # the port-scan and MySQL extras may add nothing beyond the core
rmdir "$out/tmp"

# name==version --hash=sha256:... for each distribution, one hash per wheel file (per platform).
"$python" - "$out/wheels" >"$out/requirements.txt" <<'PY'
import hashlib
import pathlib
import sys

wheels: dict[str, list[str]] = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    name, version = path.name.split("-")[:2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    wheels.setdefault(f"{name.lower().replace('_', '-')}=={version}", []).append(digest)
for req, digests in wheels.items():
    print(req, *(f"--hash=sha256:{d}" for d in digests))
PY
echo "$out"
