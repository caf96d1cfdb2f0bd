#!/usr/bin/env bash
# The CUDA backend's check on a GPU machine, in one script (under 8 minutes on an H200 with 16
# cores): builds lengen with -DLENGEN_CUDA=ON, runs the CUDA parity tests (tests/
# test_cuda_backend.cpp, tests/test_cuda_host.cpp), `lengen bench --device cuda` at the paper
# shape for every paper encoding, the PyTorch baseline on the same GPU (eager and
# torch.compile), and writes one JSON summary.
#
#   scripts/gpu-check.sh --prepare          on the development machine (Debian, with apt): downloads
#                                           the product's Debian libraries into .gpu-deps/debs
#                                           (ignored by git; ~15 MiB) and unpacks them into
#                                           .gpu-deps/root, the prefix the build uses
#   scripts/gpu-check.sh [--out PATH]       on the GPU machine (CUDA toolkit, PyTorch, CMake; no
#                                           package registry): unpacks .gpu-deps/debs if needed,
#                                           builds in build-gpu/, tests, benchmarks; the summary
#                                           goes to PATH, else $OUT/gpu-check.json, else
#                                           build-gpu/gpu-check.json
#   scripts/gpu-check.sh --configure-only   the build's configure step against the prefix (to
#                                           check, without a GPU, that CMake finds the unpacked
#                                           libraries)
#   --build-only                            configure and build, run the tests (they skip without
#                                           a GPU), no benchmarks (GPU_CHECK_BUILD_TIMEOUT: the
#                                           build's limit in seconds, default 300)
#
# The device tool carries the debs: carry [".gpu-deps/debs"] (the unpacked root is rebuilt
# there). Exit status: 0 when the build and every GPU test passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
DEPS=$ROOT_DIR/.gpu-deps
PREFIX=$DEPS/root/usr
BUILD=${LENGEN_GPU_BUILD:-build-gpu}
ARCH=x86_64-linux-gnu
# scripts/deps-debian.txt's libraries and deps-debian-test.txt's googletest and benchmark, their
# runtime libraries not in a base image, pkg-config (pkgconf) and ninja.
PACKAGES=(libopenblas-openmp-dev libopenblas0-openmp nlohmann-json3-dev libcli11-dev libfmt-dev
  libfmt9 libjsonnet-dev libjsonnet0 libsentencepiece-dev libsentencepiece0 libgtest-dev
  libbenchmark-dev libbenchmark1debian pkgconf pkgconf-bin libpkgconf3 ninja-build)
# Compiler runtime libraries OpenBLAS needs: used only where the machine has none of its own.
FALLBACK_PACKAGES=(libgfortran5 libquadmath0)

mode=run
out_path=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prepare) mode=prepare ;;
    --configure-only) mode=configure ;;
    --build-only) mode=build ;;
    --out) out_path="$2"; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "[gpu-check $(date -u +%H:%M:%S)] $*" >&2; }

# Unpacks one .deb into a root: dpkg-deb where there is one, else ar + tar.
unpack_deb() {
  local deb=$1 root=$2
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$deb" "$root"
  else
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && ar x "$deb" && tar -xf data.tar.* -C "$root")
    rm -rf "$tmp"
  fi
}

# .gpu-deps/root (and fallback/) from .gpu-deps/debs; .pc files made relocatable.
unpack_all() {
  [ -d "$DEPS/debs" ] || { log "no $DEPS/debs: run scripts/gpu-check.sh --prepare first"; return 1; }
  if [ -f "$DEPS/root/.unpacked" ] && [ "$DEPS/root/.unpacked" -nt "$DEPS/debs" ]; then return 0; fi
  rm -rf "$DEPS/root" "$DEPS/fallback"
  mkdir -p "$DEPS/root" "$DEPS/fallback"
  local deb name
  for deb in "$DEPS"/debs/*.deb; do
    name=$(basename "$deb")
    name=${name%%_*}
    if printf '%s\n' "${FALLBACK_PACKAGES[@]}" | grep -qx "$name"; then
      unpack_deb "$deb" "$DEPS/fallback"
    else
      unpack_deb "$deb" "$DEPS/root"
    fi
  done
  # prefix=/usr in the .pc files -> relative to the file, so pkg-config answers with the
  # unpacked tree (pkgconf and pkg-config both know ${pcfiledir}).
  find "$DEPS/root" -name '*.pc' -print0 | while IFS= read -r -d '' pc; do
    local up
    up=$(realpath --relative-to="$(dirname "$pc")" "$PREFIX")
    sed -i "s|^prefix=/usr\$|prefix=\${pcfiledir}/$up|" "$pc"
  done
  # What the build does not use: docs, sources, LAPACK, static libraries (shared ones are linked;
  # GoogleTest and benchmark_main ship only static ones).
  rm -rf "$DEPS/root/usr/share/doc" "$DEPS/root/usr/share/man" "$DEPS/root/usr/src"
  find "$DEPS/root" \( -name '*.a' ! -name 'libgtest*' ! -name 'libgmock*' ! -name 'libbenchmark*' \) -delete
  find "$DEPS/root" -name 'liblapack*' -delete
  touch "$DEPS/root/.unpacked"
}

prepare() {
  command -v apt-get >/dev/null || { log "--prepare needs apt-get (a Debian machine)"; exit 1; }
  rm -rf "$DEPS/debs"
  mkdir -p "$DEPS/debs"
  (cd "$DEPS/debs" && apt-get download "${PACKAGES[@]}" "${FALLBACK_PACKAGES[@]}") || exit 1
  unpack_all || exit 1
  log "debs: $(du -sh "$DEPS/debs" | cut -f1), unpacked: $(du -sh "$DEPS/root" | cut -f1) (carry .gpu-deps/debs)"
}

# The environment that makes CMake, pkg-config, the linker and the loader use the prefix.
use_prefix() {
  export CMAKE_PREFIX_PATH=$PREFIX
  export PKG_CONFIG_PATH=$PREFIX/lib/$ARCH/pkgconfig:$PREFIX/share/pkgconfig
  export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH  # not the machine's own .pc files
  local libs=$PREFIX/lib/$ARCH:$PREFIX/lib/$ARCH/openblas-openmp
  if ! ldconfig -p 2>/dev/null | grep -q 'libgfortran.so.5 '; then libs=$libs:$DEPS/fallback/usr/lib/$ARCH; fi
  export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  PKG_CONFIG_BIN=$(command -v pkg-config || true)
  [ -n "$PKG_CONFIG_BIN" ] || PKG_CONFIG_BIN=$PREFIX/bin/pkgconf
  command -v ninja >/dev/null || export PATH=$PREFIX/bin:$PATH
  command -v nvcc >/dev/null || { [ -x /usr/local/cuda/bin/nvcc ] && export PATH=$PATH:/usr/local/cuda/bin; }
}

configure() {
  local cuda=${1:-ON}
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLENGEN_CUDA="$cuda" \
    -DLENGEN_BUILD_TESTS=ON -DLENGEN_PYTHON= -DLENGEN_NATIVE=OFF \
    -DCMAKE_PREFIX_PATH="$PREFIX" -DPKG_CONFIG_EXECUTABLE="$PKG_CONFIG_BIN"
}

# Which of the cache's library paths came from the prefix (the check of --configure-only).
report_found() {
  local key
  for key in LENGEN_BLAS_LIBRARY LENGEN_CBLAS_INCLUDE_DIR JSONNET_LIBRARY JSONNET_INCLUDE_DIR \
    SENTENCEPIECE_TRAIN_LIBRARY nlohmann_json_DIR CLI11_DIR fmt_DIR GTest_DIR benchmark_DIR \
    pkgcfg_lib_SENTENCEPIECE_sentencepiece; do
    grep -E "^$key(:[A-Z]+)?=" "$BUILD/CMakeCache.txt" | sed 's/:[A-Z]*=/ = /'
  done
}

case $mode in
  prepare) prepare; exit 0 ;;
  configure)
    unpack_all || exit 1
    use_prefix
    configure AUTO || exit 1
    report_found
    if report_found | grep -v "$DEPS" | grep -q .; then log "some libraries did not come from $DEPS"; exit 1; fi
    log "every library came from the prefix"
    exit 0 ;;
esac

# ---- run / build-only ----
START=$(date +%s)
WORK=$BUILD/gpu-check
mkdir -p "$BUILD" && rm -rf "$WORK" && mkdir -p "$WORK"
if [ -z "$out_path" ]; then out_path=${OUT:+$OUT/gpu-check.json}; fi
[ -n "$out_path" ] || out_path=$BUILD/gpu-check.json
echo '{}' > "$WORK/status.json"
status() {  # status KEY VALUE(json)
  python3 - "$WORK/status.json" "$1" "$2" <<'PY'
import json, sys
p, k, v = sys.argv[1:]
d = json.load(open(p)); d[k] = json.loads(v); json.dump(d, open(p, "w"))
PY
}

summarize() {
  python3 - "$WORK" "$out_path" "$START" <<'PY'
import json, pathlib, sys, time
work, out, start = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = json.load(open(work / "status.json"))
s["seconds"] = int(time.time()) - start
g = work / "gtest.json"
if g.exists():
    t = json.load(open(g))
    cases = [c for suite in t.get("testsuites", []) for c in suite.get("testsuite", [])]
    s["tests"] = {"total": len(cases),
                  "failed": [c["classname"] + "." + c["name"] for c in cases if c.get("failures")],
                  "skipped": sum(1 for c in cases if c.get("result") == "SKIPPED"),
                  "ran": sum(1 for c in cases if c.get("result") == "COMPLETED" and not c.get("failures"))}
def lines(name):
    p = work / name
    return [json.loads(l) for l in p.read_text().splitlines() if l.startswith("{")] if p.exists() else []
s["lengen_train"] = lines("bench-train.jsonl")
s["lengen_decode"] = lines("bench-decode.jsonl")
s["pytorch"] = lines("torch.jsonl")
ours = {r["pe"]: r["tokens_per_s"] for r in s["lengen_train"]}
for r in s["pytorch"]:
    if r.get("mode") == "train" and r["pe"] in ours:
        r["lengen_vs_eager"] = ours[r["pe"]] / r["tokens_per_s"]
        if "compiled_tokens_per_s" in r:
            r["lengen_vs_compile"] = ours[r["pe"]] / r["compiled_tokens_per_s"]
    if r.get("mode") == "decode" and s["lengen_decode"]:
        r["lengen_vs_eager"] = s["lengen_decode"][0]["tokens_per_s"] / r["tokens_per_s"]
s["ok"] = bool(s.get("build") == "ok" and "tests" in s and not s["tests"]["failed"]
               and s["tests"]["skipped"] == 0)
pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
json.dump(s, open(out, "w"), indent=1)
print(json.dumps({k: s[k] for k in ("ok", "seconds", "build") if k in s} | {"tests": s.get("tests")}))
PY
}
trap 'summarize' EXIT

status gpu "\"$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)\""
status nvcc "\"$(nvcc --version 2>/dev/null | tail -1)\""
unpack_all || { status build '"no .gpu-deps/debs (run --prepare and carry it)"'; exit 1; }
use_prefix
log "configure"
if ! configure ON > "$WORK/configure.log" 2>&1; then
  tail -30 "$WORK/configure.log" >&2
  status build '"configure failed"'
  exit 1
fi
log "build"
if ! timeout "${GPU_CHECK_BUILD_TIMEOUT:-300}" cmake --build "$BUILD" -j"$(nproc)" --target lengen lengen_tests > "$WORK/build.log" 2>&1; then
  grep -E "error|FAILED" "$WORK/build.log" | head -30 >&2
  status build '"build failed"'
  exit 1
fi
status build '"ok"'
log "tests"
timeout 240 "$BUILD/lengen_tests" --gtest_filter='Cuda*:AllEncodings/CudaModelParity*' \
  --gtest_output=json:"$WORK/gtest.json" > "$WORK/tests.log" 2>&1
tail -5 "$WORK/tests.log" >&2
[ "$mode" = build ] && exit 0

log "lengen bench (paper shape)"
PES=nope,abs_sin,abs_learned,t5_bias,alibi,alibi_learned,rotary,fire,kerple
timeout 120 "$BUILD/lengen" --device cuda bench train --preset paper --batch 64 --seq 128 --vocab 64 \
  --pe "$PES" --reps 3 --warmup 1 --json > "$WORK/bench-train.jsonl" 2> "$WORK/bench.err"
timeout 60 "$BUILD/lengen" --device cuda bench decode --preset paper --batch 64 --prompt 64 \
  --new-tokens 64 --vocab 64 --pe nope --reps 3 --warmup 1 --json > "$WORK/bench-decode.jsonl" 2>> "$WORK/bench.err"
log "PyTorch baseline (eager and torch.compile)"
for pe in nope t5_bias; do
  timeout 150 python3 bench/pytorch_baseline.py --device cuda --mode train --shape paper --batch 64 \
    --seq 128 --vocab 64 --pe "$pe" --reps 3 --warmup 1 --compile >> "$WORK/torch.jsonl" 2>> "$WORK/torch.err"
done
timeout 60 python3 bench/pytorch_baseline.py --device cuda --mode decode --shape paper --batch 64 \
  --prompt 64 --new-tokens 64 --vocab 64 --pe nope --reps 3 --warmup 1 >> "$WORK/torch.jsonl" 2>> "$WORK/torch.err"
python3 - "$WORK/tests.log" <<'PY' || exit 1
import sys
log = open(sys.argv[1]).read()
sys.exit(0 if "[  PASSED  ]" in log and "FAILED" not in log and "SKIPPED" not in log.split("[==========]")[-1] else 1)
PY
