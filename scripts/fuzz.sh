#!/usr/bin/env bash
# fuzz.sh — `make fuzz`: build every tests/fuzz/fuzz_*.c against libFuzzer
# (clang, ASan + UBSan) and run each for FUZZ_SECONDS.
#
# The project sources (every .c of lib/ heartbeat/ fencing/ placement/ api/
# lab/ hasvc/ except *_main.c and the Xen backend that does not apply) are
# compiled once, with coverage instrumentation, into build/fuzz/libhasvc-fuzz.a;
# each target links against it and the same pkg-config libraries as the
# Makefile.
#
# Working corpora live in build/fuzz/corpus-<name>/ (name without "fuzz_"),
# seeded from tests/fuzz/corpus/<name>/ and kept between runs so that fuzzing
# accumulates; the committed corpus is only ever read.  A crash, leak, timeout
# or OOM input goes to build/fuzz/artifacts-<name>/ (emptied at each run).
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 30)
#   FUZZ_TARGETS   space-separated target names to run (default: all)
#   FUZZ_SRC_DIR   where fuzz_*.c are (default tests/fuzz)
#   FUZZ_CORPUS    where the committed corpora are (default tests/fuzz/corpus)
#   FUZZ_OUT       build directory (default build/fuzz)
#   FUZZ_FRESH=1   start from the committed corpus, dropping the working one
#   XEN=0|1        as in the Makefile (default: on when the Xen libraries exist)
#   CLANG          the compiler (default clang)
# Exit status: 0 when every target built and ran without a finding, else 1.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
SRC_DIR=${FUZZ_SRC_DIR:-tests/fuzz}
CORPUS_DIR=${FUZZ_CORPUS:-tests/fuzz/corpus}
OUT=${FUZZ_OUT:-build/fuzz}
CLANG=${CLANG:-clang}
JOBS=$(nproc 2>/dev/null || echo 2)

if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz: $CLANG not found (make deps installs clang)" >&2
	exit 1
fi
if ! [[ $FUZZ_SECONDS =~ ^[0-9]+$ ]] || ((FUZZ_SECONDS < 1)); then
	echo "fuzz: FUZZ_SECONDS must be a positive whole number, not '$FUZZ_SECONDS'" >&2
	exit 1
fi

XEN=${XEN:-$(pkg-config --exists xenlight xencontrol xenstore xentoollog 2>/dev/null &&
	echo 1 || echo 0)}
PKGS=(libqb libxml-2.0 sqlite3 uuid json-c libevent libevent_openssl openssl libcurl) # keep in step with the Makefile
if [[ $XEN == 1 ]]; then
	PKGS+=(xenlight xencontrol xenstore xentoollog)
	XEN_EXCLUDE=hasvc/hv_xen_none.c
else
	XEN_EXCLUDE=hasvc/hv_xen.c
fi
read -ra PKG_CFLAGS <<<"$(pkg-config --cflags "${PKGS[@]}")"
read -ra PKG_LIBS <<<"$(pkg-config --libs "${PKGS[@]}")"

# UBSan findings must end the run like ASan's, or libFuzzer never sees them.
# shellcheck disable=SC2054 # one flag with a comma-separated value
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
CFLAGS=(-g -O1 -std=gnu11 -I. -D_GNU_SOURCE -DHASVC_TESTING "${PKG_CFLAGS[@]}")

mkdir -p "$OUT/obj"

targets=()
for f in "$SRC_DIR"/fuzz_*.c; do
	[[ -f $f ]] || continue
	n=$(basename "$f" .c)
	if [[ -n ${FUZZ_TARGETS:-} && " $FUZZ_TARGETS " != *" $n "* ]]; then
		continue
	fi
	targets+=("$f")
done
if ((${#targets[@]} == 0)); then
	# shellcheck disable=SC2016 # the quotes are literal inside a double-quoted string
	echo "fuzz: no fuzz targets (${SRC_DIR}/fuzz_*.c${FUZZ_TARGETS:+ matching '$FUZZ_TARGETS'})"
	exit 0
fi

# 1. The project archive.  Library objects get libFuzzer's coverage
# instrumentation without its main() (fuzzer-no-link).
srcs=()
for d in lib heartbeat fencing placement api lab hasvc; do
	for f in "$d"/*.c; do
		[[ -f $f && $f != *_main.c && $f != "$XEN_EXCLUDE" ]] && srcs+=("$f")
	done
done
echo "fuzz: compiling ${#srcs[@]} project sources with $CLANG (XEN=$XEN)"
rm -f "$OUT/obj"/*.o
export CLANG OUT
# xargs runs `sh -c SCRIPT _ SOURCE FLAGS...`: $1 is the source, the rest flags.
# shellcheck disable=SC2016 # expanded by that sh, not here
if ! printf '%s\n' "${srcs[@]}" | xargs -P "$JOBS" -I{} sh -c \
	's=$1; shift; exec "$CLANG" "$@" -c "$s" -o "$OUT/obj/$(echo "$s" | tr / _).o"' _ {} \
	-fsanitize=fuzzer-no-link "${SAN[@]}" "${CFLAGS[@]}"; then
	echo "fuzz: compiling the project sources failed" >&2
	exit 1
fi
archive=$OUT/libhasvc-fuzz.a
rm -f "$archive"
ar rcs "$archive" "$OUT"/obj/*.o

# 2. Build and run each target.
status=0
summary=()
for src in "${targets[@]}"; do
	name=$(basename "$src" .c)
	short=${name#fuzz_}
	bin=$OUT/$name
	log=$OUT/$name.log
	work=$OUT/corpus-$short
	art=$OUT/artifacts-$short
	echo
	echo "== $name"
	if ! "$CLANG" -fsanitize=fuzzer "${SAN[@]}" "${CFLAGS[@]}" -o "$bin" "$src" "$archive" \
		"${PKG_LIBS[@]}" -lpthread -lm; then
		echo "fuzz: $name: build failed"
		summary+=("$(printf '%-28s BUILD FAILED' "$name")")
		status=1
		continue
	fi
	[[ ${FUZZ_FRESH:-0} == 1 ]] && rm -rf "$work"
	mkdir -p "$work"
	if [[ -d $CORPUS_DIR/$short ]]; then
		cp -rn "$CORPUS_DIR/$short/." "$work/"
	fi
	rm -rf "$art"
	mkdir -p "$art"
	dict=()
	[[ -f $SRC_DIR/$short.dict ]] && dict=(-dict="$SRC_DIR/$short.dict")
	set +e
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" "$work" >"$log" 2>&1
	rc=$?
	set -e
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1 || true)
	ncorp=$(find "$work" -type f | wc -l)
	crashes=$(find "$art" -type f | LC_ALL=C sort)
	printf '   runs %s, corpus %s files, %s, exit %d\n' "${runs:-?}" "$ncorp" \
		"${cov:-cov: ?}" "$rc"
	if [[ -n $crashes || $rc != 0 ]]; then
		status=1
		echo "   FINDING (log: $log):"
		grep -E '^(==[0-9]+==ERROR|SUMMARY:|.*runtime error:)' "$log" | head -n 5 |
			sed 's/^/     /' || true
		for c in $crashes; do
			echo "     reproduce: $bin $c"
		done
		summary+=("$(printf '%-28s FOUND %s  runs %s  %s' "$name" \
			"$(echo "$crashes" | grep -c . || true) file(s)" "${runs:-?}" "${cov:-}")")
	else
		summary+=("$(printf '%-28s ok     runs %-10s corpus %-6s %s' "$name" "${runs:-?}" \
			"$ncorp" "${cov:-}")")
	fi
done

echo
echo "== fuzz summary (${FUZZ_SECONDS}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
