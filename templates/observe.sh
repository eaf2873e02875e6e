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
  sums=() stats=()
  while read -r sum _; do sums+=("$sum"); done < <(sha256sum -- "${regular[@]}" 2>/dev/null)
  mapfile -t stats < <(stat -c '%U'$'\t''%G'$'\t''%a' -- "${regular[@]}" 2>/dev/null)
  for i in "${!regular[@]}"; do
    printf 'F\t%s\tf\t%s\t%s\n' "${regular[$i]}" "${sums[$i]:-?}" "${stats[$i]:-?}"
  done
fi

if [[ ${#units[@]} -gt 0 ]] && command -v systemctl >/dev/null; then
  systemctl show --no-pager -p Id -p LoadState -p UnitFileState -p ActiveState -- "${units[@]}" 2>/dev/null |
    while IFS= read -r line; do printf 'S\t%s\n' "$line"; done
fi

# ZooKeeper's role, with bash's own /dev/tcp and read timeouts: no extra processes on the host.
if [[ -n $zkport ]]; then
  mode=down
  if exec 3<>"/dev/tcp/127.0.0.1/$zkport"; then
    printf srvr >&3
    while IFS= read -r -t 3 line <&3; do
      if [[ $line == 'Mode: '* ]]; then mode=${line#Mode: }; fi
    done
    exec 3<&-
  fi 2>/dev/null
  printf 'Z\t%s\n' "$mode"
fi

printf 'I\tuid\t%s\n' "$UID"
printf 'I\thostname\t%s\n' "$HOSTNAME"
IFS=: read -r -a path_dirs <<<"$PATH"
for b in mesos-master mesos-agent mesos-slave marathon java docker; do
  for d in /usr/sbin /usr/local/sbin /opt/mesos/sbin /usr/share/marathon/bin /opt/marathon/bin "${path_dirs[@]}"; do
    if [[ -x $d/$b ]]; then printf 'I\tbin:%s\t%s\n' "$b" "$d/$b"; break; fi
  done
done
printf 'E\tdone\n'
