#!/usr/bin/env bash
# Builds the decoy images and the enricher's from this checkout and prints "<name> <image>" for each.
#
# Each image is tagged honeypods-<decoy>:<hash of its inputs> (Dockerfile, package source,
# pyproject.toml, the wheelhouse script, the base image's id) and also honeypods-<decoy>:dev.
# An image whose inputs have not changed is reused as it is: no wheelhouse, no build.
#
# Usage: build-images.sh [DECOY|enricher ...]   (default: the four decoys and the enricher)
# Environment: BASE_IMAGE (default: the stand-in from build-base.sh, also used as the builder),
# PYTHON (the pip that fills the wheelhouse), VERSION and REVISION (OCI labels).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
decoys=("$@")
[ "${#decoys[@]}" -gt 0 ] || decoys=(portscan web mysql ssh enricher)
python=${PYTHON:-python3}

bash scripts/start-dockerd.sh
base=${BASE_IMAGE:-$(bash scripts/build-base.sh)}
base_id=$(docker image inspect --format '{{.Id}}' "$base")
version=${VERSION:-$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')}
revision=${REVISION:-unknown}

# The package source as the wheel sees it: tracked and untracked files, no caches.
source_hash=$(
  find src pyproject.toml scripts/wheelhouse.sh -type f ! -path '*/__pycache__/*' ! -name '*.pyc' \
    -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64
)

for decoy in "${decoys[@]}"; do
  dockerfile=images/$decoy/Dockerfile
  if [ ! -f "$dockerfile" ]; then
    echo "build-images: no $dockerfile" >&2
    exit 2
  fi
  hash=$(printf '%s\n' "$source_hash" "$base_id" "$version" "$revision" \
    "$(sha256sum "$dockerfile")" | sha256sum | cut -c1-12)
  image=honeypods-$decoy:$hash
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    context=build/images/$decoy
    log=build/images/$decoy.log
    mkdir -p build/images
    if ! PYTHON=$python bash scripts/wheelhouse.sh "$decoy" "$context" >"$log" 2>&1 ||
      ! docker build --quiet --file "$dockerfile" --tag "$image" \
        --build-arg BASE_IMAGE="$base" --build-arg BUILDER_IMAGE="$base" \
        --build-arg VERSION="$version" --build-arg REVISION="$revision" \
        "$context" >>"$log" 2>&1; then
      echo "build-images: building $image failed; $log says:" >&2
      tail -n 40 "$log" >&2
      exit 1
    fi
  fi
  docker tag "$image" "honeypods-$decoy:dev"
  echo "$decoy $image"
  # Keep the newest few builds (other worktrees may be testing theirs), drop older ones.
  docker images "honeypods-$decoy" --format '{{.Tag}}' | grep -v '^dev$' | tail -n +5 |
    while read -r old; do docker rmi "honeypods-$decoy:$old" >/dev/null 2>&1 || true; done
done
