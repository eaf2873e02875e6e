#!/bin/bash
# marathon-run [--print]
# Installed by meso as /usr/local/lib/meso/marathon-run. Starts Marathon from
# the layout the Mesosphere marathon package uses: /etc/default/marathon for
# environment, one file per flag in /etc/marathon/conf/.
# --print writes the command line (printf %q per argument) instead of exec'ing.
# MESO_ROOT (empty on real hosts) prefixes every path so tests can use a fake root.
set -o errexit -o nounset -o pipefail

usage() { printf 'usage: marathon-run [--print]\n' >&2; exit 2; }

meso_print=false
case "${1:-}" in '') ;; --print) meso_print=true ;; *) usage ;; esac
[[ $# -le 1 ]] || usage
root=${MESO_ROOT:-}

# Marathon reads MARATHON_* and JAVA_OPTS from its environment itself, so the
# defaults file is only exported, never turned into arguments.
set -o allexport
# shellcheck source=/dev/null
[[ ! -f "$root/etc/default/marathon" ]] || . "$root/etc/default/marathon"
set +o allexport

# Byte-order listing; `local LC_ALL` keeps C locale out of Marathon's environment.
list_files() {
  local LC_ALL=C
  shopt -s nullglob
  files=("$1"/*)
  shopt -u nullglob
}

# Marathon's flag style is "--name value" (two words); "?name" is a bare flag.
args=()
list_files "$root/etc/marathon/conf"
for f in ${files[@]+"${files[@]}"}; do
  [[ -f $f ]] || continue
  name=${f##*/}
  if [[ $name == '?'* ]]; then
    args+=("--${name#\?}")
  else
    args+=("--$name" "$(cat "$f")")
  fi
done

candidates=()
[[ -z ${MESO_MARATHON_BIN:-} ]] || candidates+=("$MESO_MARATHON_BIN")
candidates+=("$root/usr/share/marathon/bin/marathon" "$root/usr/bin/marathon" "$root/opt/marathon/bin/marathon")
prog=''
for c in "${candidates[@]}"; do
  if [[ -f $c && -x $c ]]; then prog=$c; break; fi
done

if [[ $meso_print == true ]]; then
  # Without Marathon installed, still show the command line (for `meso` checks).
  cmd=("${prog:-marathon}" ${args[@]+"${args[@]}"})
  line=$(printf '%q ' "${cmd[@]}")
  printf '%s\n' "${line% }"
  exit 0
fi

if [[ -z $prog ]]; then
  printf 'marathon-run: no marathon binary found in %s; install Marathon (meso install.method) or set MESO_MARATHON_BIN\n' \
    "${candidates[*]}" >&2
  exit 127
fi
exec "$prog" ${args[@]+"${args[@]}"}
