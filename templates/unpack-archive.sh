#!/usr/bin/env bash
# unpack-archive PREFIX SHA256 — meso's archive step on one host. The tarball arrives on stdin; it
# is checked against SHA256, unpacked next to PREFIX and swapped in whole (two renames, one right
# after the other), so PREFIX never holds a mix of two builds. A tarball with one top directory
# (mesos-1.11.0/sbin/..., also ./mesos-1.11.0/...) is unpacked without it.
# PREFIX/.meso-archive.sha256 records what was unpacked.
set -o errexit -o nounset -o pipefail
export LC_ALL=C
prefix=${1%/} want=$2
[[ $prefix == /* && $prefix != / ]] || { printf 'unpack-archive: bad prefix %s\n' "$1" >&2; exit 2; }
parent=$(dirname -- "$prefix")
mkdir -p -- "$parent"
work=$(mktemp -d -- "$prefix.meso-XXXXXX")
trap 'rm -rf -- "$work"' EXIT
cat >"$work/archive"
read -r got _ < <(sha256sum -- "$work/archive")
if [[ $got != "$want" ]]; then
  printf 'unpack-archive: the upload has sha256 %s, not %s\n' "$got" "$want" >&2
  exit 1
fi
mkdir -- "$work/tree"
listing=$(tar -tf "$work/archive")
tops=$(sed -e 's|^\./||' -e 's|/.*||' <<<"$listing" | grep -v '^$' | sort -u)
strip=()
if [[ $(wc -l <<<"$tops") -eq 1 && $tops != sbin && $tops != lib && $tops != bin ]]; then
  # "./mesos-1.11.0/sbin/x" has one component more than "mesos-1.11.0/sbin/x".
  if grep -q '^\./.' <<<"$listing"; then strip=(--strip-components=2); else strip=(--strip-components=1); fi
fi
tar -xf "$work/archive" -C "$work/tree" --no-same-owner ${strip[@]+"${strip[@]}"}
printf '%s\n' "$want" >"$work/tree/.meso-archive.sha256"
chmod 0755 -- "$work/tree"
if [[ -e $prefix ]]; then mv -- "$prefix" "$work/old"; fi
mv -- "$work/tree" "$prefix"
printf 'OK\t%s\n' "$want"
