#!/usr/bin/env bash
# The current content of files meso is about to change, so a plan can show a unified diff. Fixed
# text; one path per stdin line; answers `C <path> <base64 content>` for each regular file up to
# 256 KiB (larger ones and non-files are skipped) and `E done`.
set -o nounset -o pipefail
while IFS= read -r path; do
  if [[ -f $path && ! -L $path ]] && (($(stat -c %s -- "$path") <= 262144)); then
    printf 'C\t%s\t%s\n' "$path" "$(base64 -w0 -- "$path")"
  fi
done
printf 'E\tdone\n'
