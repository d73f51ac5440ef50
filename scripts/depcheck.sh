#!/usr/bin/env bash
# depcheck.sh ROOT — enforce the one-way layering of DESIGN §3 from the
# `#include "…"` lines of every .c/.h under ROOT's source folders.
#
# Project includes are written from the repo root ("lib/log.h"); a bare
# "file.h" names a file in the including file's own directory.  The rules, by
# the top folder of the including file:
#
#   lib/                                  only lib/
#   heartbeat/ fencing/ placement/ api/ lab/
#                                         lib/ and their own folder, never each other
#   hasvc/                                any of the above and hasvc/
#   tests/ bench/                         any source folder (the only ones that
#                                         may include hasvc/ besides hasvc/ itself)
#
# An include whose first component is not a folder of ROOT is an error too
# (a typo, or a system header written with quotes instead of <>).
#
# Prints each violation as "FILE:LINE: <dir> may not include <target> (DESIGN §3)"
# and exits 1; otherwise prints one OK line and exits 0.  Exit 2 on bad usage.
set -euo pipefail

if (($# != 1)) || [[ ! -d $1 ]]; then
	echo "usage: $0 ROOT   (ROOT: the repository's top directory)" >&2
	exit 2
fi
cd "$1"

SCANNED=(lib heartbeat fencing placement api lab hasvc tests bench)
ADAPTERS=" heartbeat fencing placement api lab "

# 0 if a file in top folder $1 may include a file in top folder $2.
allowed() {
	local from=$1 to=$2
	[[ $from == "$to" ]] && return 0
	case $from in
	lib) return 1 ;;
	hasvc) [[ $to == lib || $ADAPTERS == *" $to "* ]] ;;
	tests | bench) [[ " ${SCANNED[*]} " == *" $to "* ]] ;;
	*) [[ $to == lib ]] ;;
	esac
}

dirs=()
for d in "${SCANNED[@]}"; do
	[[ -d $d ]] && dirs+=("$d")
done

files=0 includes=0 violations=0
if ((${#dirs[@]} > 0)); then
	# node_modules holds third-party client code for tests/clients: not ours.
	files=$(find "${dirs[@]}" -name node_modules -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print | wc -l)
fi

re='^([^:]+):([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)"'
while IFS= read -r hit; do
	[[ $hit =~ $re ]] || continue
	file=${BASH_REMATCH[1]} line=${BASH_REMATCH[2]} target=${BASH_REMATCH[3]}
	from=${file%%/*}
	includes=$((includes + 1))
	if [[ $target != */* ]]; then
		continue # same directory as the including file
	fi
	to=${target%%/*}
	if [[ ! -d $to || $to == . || $to == .. ]]; then
		echo "$file:$line: $from may not include $target: there is no project folder '$to' (DESIGN §3)"
		violations=$((violations + 1))
	elif ! allowed "$from" "$to"; then
		echo "$file:$line: $from may not include $target (DESIGN §3)"
		violations=$((violations + 1))
	fi
done < <(((${#dirs[@]} > 0)) && grep -rnE --include='*.c' --include='*.h' --exclude-dir=node_modules \
	'^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${dirs[@]}" | LC_ALL=C sort -t: -k1,1 -k2,2n)

if ((violations > 0)); then
	echo "depcheck: $violations layering violation(s) in $files files (DESIGN §3)" >&2
	exit 1
fi
echo "depcheck: OK, $files files checked, $includes project includes follow DESIGN §3"
