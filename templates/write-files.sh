#!/usr/bin/env bash
# meso's file changes on one host, in one round trip. Fixed text; the changes arrive on stdin as
# tab-separated lines, contents base64-encoded, so no value (and no secret) is ever on a command line:
#   M <dir> <owner> <group> <octal mode>               make a directory (missing parents: root 0755)
#   W <path> <owner> <group> <octal mode> <base64>      write a file atomically
#   D <path>                                           delete a file
# Each file is written to a temporary file in its own directory, given its owner and mode, then
# renamed over the old one: readers see the old or the new content, never half. A symlink at the
# path is replaced, not written through (Debian's zookeeper package links myid into its examples).
# It answers `OK <path> <sha256>` / `DELETED <path>` / `DIR <dir>` per line and `E done` at the end;
# the first failure stops it with `FAIL <path> <reason>` and a non-zero exit.
set -o nounset -o pipefail
umask 022  # parents made by mkdir -p are 0755; mktemp files start 0600 whatever the umask

fail() { printf 'FAIL\t%s\t%s\n' "$1" "$2"; exit 1; }

while IFS=$'\t' read -r kind path owner group mode data; do
  case $kind in
    M)
      if [[ ! -d $path ]]; then
        mkdir -p -- "$path" || fail "$path" mkdir
      fi
      chown -- "$owner:$group" "$path" || fail "$path" chown
      chmod -- "$mode" "$path" || fail "$path" chmod
      printf 'DIR\t%s\n' "$path"
      ;;
    W)
      dir=$(dirname -- "$path")
      if [[ ! -d $dir ]]; then
        mkdir -p -- "$dir" || fail "$path" mkdir
      fi
      tmp=$(mktemp -p "$dir" .meso.XXXXXXXX) || fail "$path" mktemp
      if ! printf '%s' "$data" | base64 -d >"$tmp"; then rm -f -- "$tmp"; fail "$path" decode; fi
      if ! chown -- "$owner:$group" "$tmp"; then rm -f -- "$tmp"; fail "$path" chown; fi
      if ! chmod -- "$mode" "$tmp"; then rm -f -- "$tmp"; fail "$path" chmod; fi
      sum=$(sha256sum -- "$tmp" | cut -d' ' -f1)
      sync -- "$tmp" 2>/dev/null || true
      if ! mv -fT -- "$tmp" "$path"; then rm -f -- "$tmp"; fail "$path" rename; fi
      printf 'OK\t%s\t%s\n' "$path" "$sum"
      ;;
    D)
      rm -f -- "$path" || fail "$path" delete
      printf 'DELETED\t%s\n' "$path"
      ;;
    '') ;;
    *) fail "$kind" 'unknown request' ;;
  esac
done
printf 'E\tdone\n'
