#!/usr/bin/env bash
# meso's observation of one host, in one round trip. The script is fixed text; everything it looks
# at arrives on stdin as tab-separated lines, so no value from a spec is ever part of a command:
#   F <path>      a file meso wants or used to manage
#   U <unit>      a systemd unit
#   Z <port>      ZooKeeper's client port, to ask it for its role
# It answers with tab-separated lines:
#   F <path> <type f|l|d|o|-> [<sha256> <owner> <group> <octal mode>]
#   S <systemctl show output line>   (Id=, LoadState=, UnitFileState=, ActiveState=; blank between units)
#   Z <leader|follower|standalone|observer|down>
#   I <fact> <value>
#   E done
set -o nounset -o pipefail
export LC_ALL=C

files=() units=() zkport=''
while IFS=$'\t' read -r kind value; do
  case $kind in
    F) files+=("$value") ;;
    U) units+=("$value") ;;
    Z) zkport=$value ;;
  esac
done

# Regular files are hashed and stat'ed in one process each, not one per file.
regular=()
for f in ${files[@]+"${files[@]}"}; do
  if [[ -L $f ]]; then printf 'F\t%s\tl\n' "$f"
  elif [[ -f $f ]]; then regular+=("$f")
  elif [[ -d $f ]]; then printf 'F\t%s\td\n' "$f"
  elif [[ -e $f ]]; then printf 'F\t%s\to\n' "$f"
  else printf 'F\t%s\t-\n' "$f"
  fi
done
if [[ ${#regular[@]} -gt 0 ]]; then
  mapfile -t sums < <(sha256sum -- "${regular[@]}" 2>/dev/null | cut -d' ' -f1)
  mapfile -t stats < <(stat -c '%U'$'\t''%G'$'\t''%a' -- "${regular[@]}" 2>/dev/null)
  for i in "${!regular[@]}"; do
    printf 'F\t%s\tf\t%s\t%s\n' "${regular[$i]}" "${sums[$i]:-?}" "${stats[$i]:-?}"
  done
fi

if [[ ${#units[@]} -gt 0 ]] && command -v systemctl >/dev/null; then
  systemctl show --no-pager -p Id -p LoadState -p UnitFileState -p ActiveState -- "${units[@]}" 2>/dev/null |
    while IFS= read -r line; do printf 'S\t%s\n' "$line"; done
fi

if [[ -n $zkport ]]; then
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash, from an argument.
  answer=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && cat <&3' _ "$zkport" 2>/dev/null)
  mode=$(printf '%s\n' "$answer" | sed -n 's/^Mode: //p')
  printf 'Z\t%s\n' "${mode:-down}"
fi

printf 'I\tuid\t%s\n' "$(id -u)"
printf 'I\thostname\t%s\n' "$(hostname 2>/dev/null)"
printf 'I\tsystemd\t%s\n' "$(systemctl is-system-running 2>/dev/null || true)"
for b in mesos-master mesos-agent mesos-slave java docker; do
  if p=$(command -v "$b" 2>/dev/null); then printf 'I\tbin:%s\t%s\n' "$b" "$p"; fi
done
printf 'E\tdone\n'
