#!/usr/bin/env bash
# Checks Android.bp: it parses and is formatted as bpfmt formats it, and every
# file it names exists: each entry of a srcs or data list (a glob such as
# aidl/android/memstat/*.aidl must match at least one file), and each src,
# test_config and local_include_dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bp=${1:-Android.bp}
dir=$(dirname "$bp")

if ! diff=$(bpfmt -d "$bp" 2>&1); then
    echo "$bp: bpfmt cannot parse it: $diff" >&2
    exit 1
fi
if [ -n "$diff" ]; then
    printf '%s: not formatted as bpfmt wants (run bpfmt -w %s):\n%s\n' "$bp" "$bp" "$diff" >&2
    exit 1
fi

# Soong's globs: * within a path component, ** across directories.
shopt -s globstar nullglob

# bpfmt puts a list on one line or one entry per line; print "property path"
# for every quoted string of a srcs or data list and of the single-path
# properties.
missing=0
while read -r prop path; do
    case "$path" in
    *'*'*)
        matched=0
        for f in "$dir"/$path; do
            [ -f "$f" ] && matched=1 && break
        done
        if [ "$matched" -eq 0 ]; then
            echo "$bp: $prop names $path, which matches no file" >&2
            missing=1
        fi
        ;;
    *)
        if [ ! -e "$dir/$path" ]; then
            echo "$bp: $prop names $path, which does not exist" >&2
            missing=1
        fi
        ;;
    esac
done < <(awk '
    function strings(prop, line) {
        while (match(line, /"[^"]*"/)) {
            print prop, substr(line, RSTART + 1, RLENGTH - 2)
            line = substr(line, RSTART + RLENGTH)
        }
    }
    /^[ \t]*(srcs|data): \[/ { inlist = 1; prop = $1; sub(/:$/, "", prop) }
    inlist { strings(prop, $0) }
    inlist && /\]/ { inlist = 0; next }
    /^[ \t]*(src|test_config|local_include_dir): "/ { prop = $1; sub(/:$/, "", prop); strings(prop, $0) }' "$bp")
[ "$missing" -eq 0 ] && echo "$bp: ok"
exit "$missing"
