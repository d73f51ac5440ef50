#!/usr/bin/env bash
# make bench: run every benchmark and print its figures.  Benchmarks measure;
# they assert nothing (tests assert behaviour, never wall-clock speed).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BINDIR:?}" "${BUILD:?}"
export BINDIR BUILD
echo "hasvc benchmarks on $(nproc) cores, $(uname -r), $(date -u +%F)"
for b in "$BUILD"/bench/*; do
	[[ -x $b ]] || continue
	echo
	echo "== $(basename "$b")"
	"$b"
done
for s in bench/*.sh; do
	[[ $s == bench/run.sh ]] && continue
	echo
	echo "== $(basename "$s" .sh)"
	bash "$s"
done
