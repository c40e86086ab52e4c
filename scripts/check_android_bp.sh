#!/usr/bin/env bash
# Checks Android.bp: it parses and is formatted as bpfmt formats it, and every
# path named in a srcs list exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bp=${1:-Android.bp}

if ! diff=$(bpfmt -d "$bp" 2>&1); then
    echo "$bp: bpfmt cannot parse it: $diff" >&2
    exit 1
fi
if [ -n "$diff" ]; then
    printf '%s: not formatted as bpfmt wants (run bpfmt -w %s):\n%s\n' "$bp" "$bp" "$diff" >&2
    exit 1
fi

# bpfmt puts each srcs list on one line or one entry per line; collect the
# quoted strings inside every srcs: [ ... ] list.
missing=0
while IFS= read -r src; do
    if [ ! -e "$(dirname "$bp")/$src" ]; then
        echo "$bp: srcs names $src, which does not exist" >&2
        missing=1
    fi
done < <(awk '
    /srcs: \[/ { inlist = 1 }
    inlist { line = $0; while (match(line, /"[^"]*"/)) { print substr(line, RSTART + 1, RLENGTH - 2); line = substr(line, RSTART + RLENGTH) } }
    inlist && /\]/ { inlist = 0 }' "$bp")
[ "$missing" -eq 0 ] && echo "$bp: ok"
exit "$missing"
