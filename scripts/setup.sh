#!/usr/bin/env bash
# Idempotent setup for a Debian 12 + Node 20 machine: Debian packages, npm dependencies, the build.
# Used by both README commands and by .ci/run. A second run changes nothing and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }
did=0

# Node >= 20.19: some dependencies are ES modules loaded through require(esm).
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
  say "Node.js >= 20.19 is required (found $(node --version 2>/dev/null || echo none)): install Node 20 LTS and rerun."
  exit 2
fi

# Debian packages: media, queue, landmark host (Chromium), trainer (PyTorch + OpenBLAS), DIS baseline (OpenCV).
APT_PACKAGES=(ffmpeg redis-server chromium-headless-shell python3-torch python3-numpy libopenblas0-pthread python3-opencv)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  did=1
fi

# npm dependencies: reinstalled only when package-lock.json changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.streamedit-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm dependencies (npm ci)"
  # onnxruntime-node's install script downloads from outside the npm registry; the CPU binary ships in the package.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2
  echo "$lock_hash" > node_modules/.streamedit-lock
  did=1
fi

# Build: only when a TypeScript source is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find apps libs test tsconfig*.json package.json -newer "$stamp" -type f -print -quit 2>/dev/null)" ]; then
  say "building (tsc)"
  npm run -s build >&2
  touch "$stamp"
  did=1
fi

if [ "$did" -eq 0 ]; then say "everything is already set up; nothing to do."; else say "done."; fi
