#!/usr/bin/env bash
# Prepares the build context of one image (a decoy's or the enricher's): a hermetic wheelhouse, so
# that the image build itself needs no network (`pip install --no-index`).
#
#   build/images/<decoy>/pip.whl            pip, run straight from its wheel; never installed
#   build/images/<decoy>/wheels/            the decoy's dependencies for the runtime's Python,
#                                           for amd64 and arm64 (pip picks the matching one)
#   build/images/<decoy>/requirements.txt   those wheels, pinned by version and sha256
#   build/images/<decoy>/app/               the honeypods wheel itself, built from this checkout
#
# Only the image's own extra is resolved, so the MySQL and port-scan contexts never hold aiohttp or
# asyncssh, and no context but the enricher's holds a Kubernetes client. Usage: wheelhouse.sh
# DECOY [OUT_DIR], where DECOY may also be "enricher". PYTHON picks the pip that downloads
# (python3); RUNTIME_PYTHON is the image's Python version (3.13, as in distroless python3-debian13).
set -euo pipefail

decoy=${1:?usage: wheelhouse.sh DECOY [OUT_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$root/build/images/$decoy}
python=${PYTHON:-python3}
runtime_python=${RUNTIME_PYTHON:-3.13}
abi="cp${runtime_python/./}"

case $decoy in
  portscan | web | mysql | ssh | enricher) ;;
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

# Shared objects in wheels keep their symbol tables (uvloop's is 13 MB, 1.6 MB stripped). Strip
# those of the host's architecture and rewrite each wheel's RECORD so its hashes stay true; the
# hashes pinned below are taken after this, so the build installs exactly these files.
if command -v strip >/dev/null; then
  "$python" - "$out/wheels" <<'PY'
import base64
import csv
import hashlib
import io
import pathlib
import platform
import subprocess
import sys
import tempfile
import zipfile

def digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

for wheel in sorted(pathlib.Path(sys.argv[1]).glob(f"*{platform.machine()}*.whl")):
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
        if not any(i.filename.endswith(".so") or ".so." in i.filename for i in infos):
            continue
        files = {i.filename: zf.read(i) for i in infos}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            if name.endswith(".so") or ".so." in name:
                path = pathlib.Path(tmp, "lib.so")
                path.write_bytes(data)
                subprocess.run(["strip", "--strip-unneeded", str(path)], check=True)
                files[name] = path.read_bytes()
    record = next(n for n in files if n.endswith(".dist-info/RECORD"))
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    for name, data in files.items():
        writer.writerow([name, "", ""] if name == record else [name, digest(data), len(data)])
    files[record] = rows.getvalue().encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in infos:
            zf.writestr(info, files[info.filename])
PY
fi

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
