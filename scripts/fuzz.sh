#!/usr/bin/env bash
# scripts/fuzz.sh TARGET SECONDS [libFuzzer options…]: runs one fuzz target (fuzz/Targets,
# `akin-fuzz` lists them) under libFuzzer and AddressSanitizer for SECONDS, with a 2 GB memory
# limit, starting from fuzz/seeds/TARGET and fuzz/regressions/TARGET. The corpus it grows stays in
# .build-fuzz/corpus/TARGET; a crash, leak, timeout or out-of-memory input is written to
# .build-fuzz/artifacts/TARGET/, and belongs, once fixed, in fuzz/regressions/TARGET/ (the tests
# replay that folder). A line of figures goes to bench/results/fuzz-DATE.jsonl.
#   scripts/fuzz.sh seeds   rewrites the generated seeds (fuzz/seeds), then the odd images.
#   scripts/fuzz.sh image 600 -runs=1000000   stops at a million executions or ten minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options], or scripts/fuzz.sh seeds}

# Swift and the project's C shims (png_shim.c) instrumented for coverage and AddressSanitizer;
# the Debian libraries (libjpeg-turbo, libpng, SQLite, zlib) are fuzzed upstream (OSS-Fuzz) and
# run here uninstrumented. lld: gold fails on the sanitizer runtime's symbols.
# AKIN_FUZZ_BUILT=1 runs the binary already built (a campaign of several targets while the sources change).
[ "${AKIN_FUZZ_BUILT:-0}" = 1 ] || AKIN_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product akin-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld -Xcc -fsanitize=fuzzer-no-link,address >&2
fuzzer=.build-fuzz/release/akin-fuzz
# Swift's own crash reporter would hold the process after a fatalError; libFuzzer reports instead.
export SWIFT_BACKTRACE=enable=no
export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan-suppressions.txt
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0

if [ "$target" = seeds ]; then
    "$fuzzer" seeds fuzz/seeds
    venv=${AKIN_FUZZ_VENV:-$HOME/.cache/akin-fuzz/venv}
    "$venv/bin/python" -c "import PIL" 2>/dev/null || { python3 -m venv "$venv" && "$venv/bin/pip" install -q pillow==11.3.0; }
    exec "$venv/bin/python" scripts/make_fuzz_images.py fuzz/seeds/image
fi
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options]}
shift 2
corpus=.build-fuzz/corpus/$target artifacts=.build-fuzz/artifacts/$target
mkdir -p "$corpus" "$artifacts" "fuzz/regressions/$target"
log=.build-fuzz/$target.log
set +e
started=$(date +%s)
"$fuzzer" "$target" "$corpus" "fuzz/seeds/$target" "fuzz/regressions/$target" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" 2>&1 | tee "$log" | grep -E '^#[0-9]+ *(pulse|DONE|INITED)|ERROR|SUMMARY|Test unit|stat::' >&2
status=${PIPESTATUS[0]}
elapsed=$(($(date +%s) - started))
set -e
executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
findings=$(find "$artifacts" -type f | wc -l)
peak=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
mkdir -p bench/results
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
printf '{"target":"%s","seconds_limit":%s,"seconds":%s,"executions":%s,"peak_rss_mb":%s,"exit":%s,"findings":%s,"corpus":%s,"cpu":"%s","date":"%s"}\n' \
    "$target" "$seconds" "$elapsed" "${executions:-0}" "${peak:-0}" "$status" "$findings" "$(find "$corpus" -type f | wc -l)" "$cpu" "$(date -u +%FT%TZ)" \
    | tee -a "bench/results/fuzz-$(date -u +%Y%m%d).jsonl"
exit "$status"
