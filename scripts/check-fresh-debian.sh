#!/usr/bin/env bash
# Checks the README's promise on a fresh Debian machine: a clean bookworm container (minbase plus
# git, make and CA certificates), a fresh clone of this repository, then `make run` (JSON events on
# stdout) and `make test`. Needs a running Docker engine and root.
#
#   scripts/check-fresh-debian.sh [run|test|both]   (default: both)
#
# The container shares the host's network namespace so the registries answer through the host's
# CA bundle and so container ports the image tests publish on 127.0.0.1 are reachable; it talks to
# the host's Docker engine through its socket. --privileged is not available here, so the
# capabilities the tests need (network namespaces, raw sockets) are added by name.
set -euo pipefail

what=${1:-both}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${HONEYPODS_FRESH_DIR:-/var/tmp/honeypods-fresh}
image=honeypods-fresh-debian:bookworm
mkdir -p "$work"

if ! docker image inspect "$image" >/dev/null 2>&1; then
  [ -f "$work/rootfs.tar" ] ||
    mmdebstrap --variant=minbase --include=ca-certificates,git,make bookworm "$work/rootfs.tar"
  docker import "$work/rootfs.tar" "$image" >/dev/null
fi

ca=/etc/ssl/certs/ca-certificates.crt
env_args=()
for v in SSL_CERT_FILE PIP_CERT REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS CURL_CA_BUNDLE GIT_SSL_CAINFO; do
  env_args+=(-e "$v=$ca")
done

run() {
  docker run --rm --network host \
    --cap-add NET_ADMIN --cap-add NET_RAW --cap-add SYS_ADMIN \
    --security-opt apparmor=unconfined --security-opt seccomp=unconfined \
    -v "$ca:$ca:ro" -v "$root:/src:ro" \
    -v /var/run/docker.sock:/var/run/docker.sock \
    "${env_args[@]}" -e CI="${CI:-}" -e PYTEST_ARGS="${PYTEST_ARGS:-}" \
    "$image" bash -c "git clone -q /src /work/main && cd /work/main && $1"
}

if [ "$what" = run ] || [ "$what" = both ]; then
  # make run needs only Python: the venv it builds. Stop it after a few seconds and show events.
  run 'apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null &&
       make venv && (timeout -s INT 10 make run > /tmp/run.out 2>/tmp/run.err; true) &&
       cat /tmp/run.err; grep -c "honeypods.start" /tmp/run.out; head -c 600 /tmp/run.out; echo; tail -1 /tmp/run.out'
fi
if [ "$what" = test ] || [ "$what" = both ]; then
  run 'make test'
fi
