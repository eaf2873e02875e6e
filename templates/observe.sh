#!/usr/bin/env bash
# meso's observation of one host, in one round trip. The script is fixed text; everything it looks
# at arrives on stdin as tab-separated lines, so no value from a spec is ever part of a command:
#   F <path>      a file meso wants or used to manage
#   U <unit>      a systemd unit
#   Z <port>      ZooKeeper's client port, to ask it for its role
#   M <apt|yum>   whose database the packages are looked up in (default: dpkg's if the host has it)
#   P <package>   a package: its installed version and whether it is held
#   A <prefix>    an unpacked archive: the sha256 of the tarball it came from
#   D <image>     a container image: its id, when Docker has it
# It answers with tab-separated lines:
#   F <path> <type f|l|d|o|-> [<sha256> <owner> <group> <octal mode>]
#   S <systemctl show output line>   (Id=, LoadState=, UnitFileState=, ActiveState=; blank between units)
#   Z <leader|follower|standalone|observer|down>
#   P <package> <version|-> <held 1|0>
#   A <prefix> <sha256|->
#   D <image> <id|->
#   I <fact> <value>
#   E done
set -o nounset -o pipefail
export LC_ALL=C

files=() units=() zkport='' pkgs=() archives=() images=() manager=''
while IFS=$'\t' read -r kind value; do
  case $kind in
    F) files+=("$value") ;;
    U) units+=("$value") ;;
    Z) zkport=$value ;;
    M) manager=$value ;;
    P) pkgs+=("$value") ;;
    A) archives+=("$value") ;;
    D) images+=("$value") ;;
  esac
done

# What waits on someone else starts first and is read last: systemd's answer about the units and
# ZooKeeper's to `srvr` arrive while the files are hashed.
if [[ ${#units[@]} -gt 0 ]] && command -v systemctl >/dev/null; then
  exec 4< <(systemctl show --no-pager -p Id -p LoadState -p UnitFileState -p ActiveState -- "${units[@]}" 2>/dev/null)
else
  exec 4</dev/null
fi
# ZooKeeper's role, with bash's own /dev/tcp and read timeouts: no extra processes on the host.
zkopen=0
if [[ -n $zkport ]]; then
  if exec 3<>"/dev/tcp/127.0.0.1/$zkport"; then
    printf srvr >&3 && zkopen=1
  fi 2>/dev/null
fi

# Regular files are hashed and stat'ed in one process each (both at once), not one per file.
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
  exec 5< <(sha256sum -- "${regular[@]}" 2>/dev/null)
  mapfile -t stats < <(stat -c '%U'$'\t''%G'$'\t''%a' -- "${regular[@]}" 2>/dev/null)
  while read -r sum _ <&5; do sums+=("$sum"); done
  exec 5<&-
  for i in "${!regular[@]}"; do
    printf 'F\t%s\tf\t%s\t%s\n' "${regular[$i]}" "${sums[$i]:-?}" "${stats[$i]:-?}"
  done
fi

while IFS= read -r line <&4; do printf 'S\t%s\n' "$line"; done
exec 4<&-

if [[ -n $zkport ]]; then
  mode=down
  if [[ $zkopen == 1 ]]; then
    while IFS= read -r -t 3 line <&3; do
      if [[ $line == 'Mode: '* ]]; then mode=${line#Mode: }; fi
    done
    exec 3<&-
  fi 2>/dev/null
  printf 'Z\t%s\n' "$mode"
fi

# Packages: one dpkg-query (or rpm) for all of them. dpkg's status is "<want> ok installed"; a
# want of "hold" is apt-mark hold.
if [[ ${#pkgs[@]} -gt 0 ]]; then
  declare -A pkg_version=() pkg_held=()
  if [[ $manager != yum ]] && command -v dpkg-query >/dev/null; then
    while IFS=$'\t' read -r name version status; do
      [[ $status == *' installed' ]] || continue
      pkg_version[$name]=$version
      [[ $status == hold' '* ]] && pkg_held[$name]=1
    done < <(dpkg-query -W -f='${Package}\t${Version}\t${Status}\n' -- "${pkgs[@]}" 2>/dev/null)
  elif command -v rpm >/dev/null; then
    while IFS=$'\t' read -r name version; do
      pkg_version[$name]=$version
    done < <(rpm -q --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n' -- "${pkgs[@]}" 2>/dev/null | grep -v ' is not installed$')
    for lock in /etc/dnf/plugins/versionlock.list /etc/yum/pluginconf.d/versionlock.list; do
      [[ -f $lock ]] || continue
      for p in "${pkgs[@]}"; do
        if grep -q -e "^\(0:\)\?$p-[0-9]" -- "$lock" 2>/dev/null; then pkg_held[$p]=1; fi
      done
    done
  fi
  for p in "${pkgs[@]}"; do
    printf 'P\t%s\t%s\t%s\n' "$p" "${pkg_version[$p]:--}" "${pkg_held[$p]:-0}"
  done
fi
for a in ${archives[@]+"${archives[@]}"}; do
  sum=-
  if [[ -f $a/.meso-archive.sha256 ]]; then read -r sum _ <"$a/.meso-archive.sha256" || sum=-; fi
  printf 'A\t%s\t%s\n' "$a" "${sum:--}"
done
for i in ${images[@]+"${images[@]}"}; do
  id=-
  if command -v docker >/dev/null; then id=$(docker image inspect --format '{{.Id}}' -- "$i" 2>/dev/null) || id=-; fi
  printf 'D\t%s\t%s\n' "$i" "${id:--}"
done

printf 'I\tuid\t%s\n' "$UID"
printf 'I\thostname\t%s\n' "$HOSTNAME"
IFS=: read -r -a path_dirs <<<"$PATH"
for b in mesos-master mesos-agent mesos-slave marathon java docker; do
  for d in /usr/sbin /usr/local/sbin /opt/mesos/sbin /usr/share/marathon/bin /opt/marathon/bin "${path_dirs[@]}"; do
    if [[ -x $d/$b ]]; then printf 'I\tbin:%s\t%s\n' "$b" "$d/$b"; break; fi
  done
done
if [[ -f /usr/share/java/zookeeper.jar ]]; then printf 'I\tzookeeper-jar\t%s\n' /usr/share/java/zookeeper.jar; fi
printf 'E\tdone\n'
