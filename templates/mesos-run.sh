#!/bin/bash
# mesos-run master|agent [--print]
# Installed by meso as /usr/local/lib/meso/mesos-run. Builds the Mesos command
# line from the same on-disk layout /usr/bin/mesos-init-wrapper (Mesosphere
# packages) reads, so hosts behave the same with or without the packages.
# --print writes the command line (printf %q per argument) instead of exec'ing.
# MESO_ROOT (empty on real hosts) prefixes every path so tests can use a fake root.
set -o errexit -o nounset -o pipefail

usage() { printf 'usage: mesos-run master|agent [--print]\n' >&2; exit 2; }

meso_role=${1:-}
meso_print=false
case "$meso_role" in master | agent) ;; *) usage ;; esac
case "${2:-}" in '') ;; --print) meso_print=true ;; *) usage ;; esac
[[ $# -le 2 ]] || usage
root=${MESO_ROOT:-}
# The packages (and meso) still name the agent's config "mesos-slave".
if [[ $meso_role == master ]]; then conf_name=mesos-master; else conf_name=mesos-slave; fi
etc_dir="$root/etc/$conf_name"

# Defaults files are shell fragments whose variables Mesos (MESOS_*) and this
# script (ZK, MASTER, ...) both read, hence allexport.
set -o allexport
# shellcheck source=/dev/null
[[ ! -f "$root/etc/default/mesos" ]] || . "$root/etc/default/mesos"
# shellcheck source=/dev/null
[[ ! -f "$root/etc/default/$conf_name" ]] || . "$root/etc/default/$conf_name"
set +o allexport

if [[ -n ${ULIMIT:-} && $meso_print == false ]]; then
  # ULIMIT holds several words ("-n 8192"); split them without globbing.
  read -r -a ulimit_args <<<"$ULIMIT"
  ulimit "${ulimit_args[@]}"
fi

# Fill the global array `files` with $1/* in byte order; `local LC_ALL` keeps
# the C locale from leaking into Mesos' environment.
list_files() {
  local LC_ALL=C
  shopt -s nullglob
  files=("$1"/*)
  shopt -u nullglob
}

# "name:value;name:value" from the non-empty files in $1 (empty if none).
join_dir() {
  local f out=''
  list_files "$1"
  for f in ${files[@]+"${files[@]}"}; do
    [[ -f $f && -s $f ]] || continue
    out+=";${f##*/}:$(cat "$f")"
  done
  printf '%s' "${out#;}"
}

args=()
if [[ $meso_role == master ]]; then
  [[ -z ${ZK:-} ]] || args+=("--zk=$ZK")
  [[ -z ${IP:-} ]] || args+=("--ip=$IP")
  [[ -z ${PORT:-} ]] || args+=("--port=$PORT")
  [[ -z ${CLUSTER:-} ]] || args+=("--cluster=$CLUSTER")
  [[ -z ${LOGS:-} ]] || args+=("--log_dir=$LOGS")
else
  [[ -z ${MASTER:-} ]] || args+=("--master=$MASTER")
  [[ -z ${IP:-} ]] || args+=("--ip=$IP")
  [[ -z ${LOGS:-} ]] || args+=("--log_dir=$LOGS")
  [[ -z ${ISOLATION:-} ]] || args+=("--isolation=$ISOLATION")
fi

# One flag per regular file; "?name" files are valueless flags (?no-switch_user).
list_files "$etc_dir"
for f in ${files[@]+"${files[@]}"}; do
  [[ -f $f ]] || continue
  name=${f##*/}
  if [[ $name == '?'* ]]; then
    args+=("--${name#\?}")
  else
    args+=("--$name=$(cat "$f")")
  fi
done

if [[ $meso_role == agent ]]; then
  # Attributes/resources may also be split into one file per key.
  attributes=$(join_dir "$etc_dir/attributes")
  [[ -z $attributes ]] || args+=("--attributes=$attributes")
  resources=$(join_dir "$etc_dir/resources")
  [[ -z $resources ]] || args+=("--resources=$resources")
  names=(mesos-agent mesos-slave) # mesos-slave: pre-1.0 installs
else
  names=(mesos-master)
fi

dirs=()
[[ -z ${MESO_MESOS_SBIN:-} ]] || dirs+=("$MESO_MESOS_SBIN")
dirs+=("$root/usr/sbin" "$root/usr/local/sbin" "$root/opt/mesos/sbin")
prog=''
for d in "${dirs[@]}"; do
  for n in "${names[@]}"; do
    if [[ -f "$d/$n" && -x "$d/$n" ]]; then prog="$d/$n"; break 2; fi
  done
done

if [[ $meso_print == true ]]; then
  # Without Mesos installed, still show the command line (for `meso` checks).
  cmd=("${prog:-${names[0]}}" ${args[@]+"${args[@]}"})
  line=$(printf '%q ' "${cmd[@]}")
  printf '%s\n' "${line% }"
  exit 0
fi

if [[ -z $prog ]]; then
  printf 'mesos-run: no %s binary found in %s; install Mesos (meso install.method) or set MESO_MESOS_SBIN\n' \
    "${names[0]}" "${dirs[*]}" >&2
  exit 127
fi
exec "$prog" ${args[@]+"${args[@]}"}
