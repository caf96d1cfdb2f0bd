#!/usr/bin/env bash
# Installs lengen's Debian dependencies and builds build/lengen (Release, no tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-packages.sh scripts/deps-debian.txt
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLENGEN_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
echo "built $(pwd)/build/lengen"
