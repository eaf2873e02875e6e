#!/usr/bin/env bash
# meso's package step on one host. The script is fixed text; what to do arrives on stdin as
# tab-separated lines, so no value from a spec is ever part of a command line it is given:
#   M <apt|yum|os>           the package manager (os: apt-get if the host has it, else dnf or yum)
#   I <package> <version|->  install, or change to, that version (- : any version)
#   H <package>              hold it at its version (apt-mark hold, versionlock)
#   U <package>              release its hold (no version is pinned any more)
#   X <unit>                 a unit this host must not run: stopped and disabled if a package enabled it
# It answers with tab-separated lines on stdout:
#   W <warning>
#   P <package> <installed version>
#   E done
# Package scripts are kept from starting services (policy-rc.d): meso starts them in its own order.
set -o errexit -o nounset -o pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

manager='' installs=() holds=() unholds=() foreign=()
while IFS=$'\t' read -r kind a b; do
  case $kind in
    M) manager=$a ;;
    I) installs+=("$a"$'\t'"$b") ;;
    H) holds+=("$a") ;;
    U) unholds+=("$a") ;;
    X) foreign+=("$a") ;;
  esac
done

fail() {
  printf 'install-packages: %s\n' "$1" >&2
  exit 1
}

if [[ $manager == os ]]; then
  if command -v apt-get >/dev/null; then manager=apt
  elif command -v dnf >/dev/null || command -v yum >/dev/null; then manager=yum
  else fail 'neither apt-get nor yum/dnf is on this host'
  fi
fi

names=()
for entry in ${installs[@]+"${installs[@]}"}; do names+=("${entry%%$'\t'*}"); done
names+=(${unholds[@]+"${unholds[@]}"})

if [[ $manager == apt ]]; then
  command -v apt-get >/dev/null || fail 'install.method apt, but this host has no apt-get'
  made_policy=false
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# meso: no service starts while packages are installed\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=true
  fi
  cleanup() { if [[ $made_policy == true ]]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  if [[ ${#installs[@]} -gt 0 ]]; then
    quick=(-o Acquire::Retries=0 -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20)
    errors=$(mktemp)
    if ! apt-get update -qq "${quick[@]}" >/dev/null 2>"$errors"; then
      if [[ -f /etc/apt/sources.list.d/meso.sources ]]; then
        printf 'W\tapt-get update failed for some sources (%s); using meso'"'"'s repository alone\n' \
          "$(grep -m1 -E '^(E|W):' "$errors" | cut -c1-160)"
        if ! apt-get update -qq "${quick[@]}" -o Dir::Etc::SourceList=/etc/apt/sources.list.d/meso.sources \
          -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0 >/dev/null; then
          rm -f "$errors"
          fail "apt-get update of meso's repository failed"
        fi
      else
        cat "$errors" >&2
        rm -f "$errors"
        fail 'apt-get update failed'
      fi
    elif grep -q -E '^W: (Failed to fetch|Some index files failed)' "$errors"; then
      # apt goes on without a source it cannot reach (after its timeout): say which.
      printf 'W\tapt-get update could not fetch every source (%s)\n' \
        "$(grep -m1 -E '^W: Failed to fetch|^W: Some index' "$errors" | cut -c1-160)"
    fi
    rm -f "$errors"
    args=()
    for entry in "${installs[@]}"; do
      name=${entry%%$'\t'*} version=${entry#*$'\t'}
      if [[ $version == - ]]; then args+=("$name"); else args+=("$name=$version"); fi
    done
    apt-get install -y -q --no-install-recommends --allow-downgrades --allow-change-held-packages \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- "${args[@]}" >&2 ||
      fail "apt-get install ${args[*]} failed"
  fi
  if [[ ${#holds[@]} -gt 0 ]]; then apt-mark hold -- "${holds[@]}" >/dev/null || fail 'apt-mark hold failed'; fi
  if [[ ${#unholds[@]} -gt 0 ]]; then apt-mark unhold -- "${unholds[@]}" >/dev/null || fail 'apt-mark unhold failed'; fi
  for name in ${names[@]+"${names[@]}"}; do
    printf 'P\t%s\t%s\n' "$name" "$(dpkg-query -W -f='${Version}' -- "$name" 2>/dev/null || true)"
  done
elif [[ $manager == yum ]]; then
  if command -v dnf >/dev/null; then yum=dnf; elif command -v yum >/dev/null; then yum=yum
  else fail 'install.method yum, but this host has neither dnf nor yum'
  fi
  lock=false
  if "$yum" versionlock --help >/dev/null 2>&1; then lock=true
  elif [[ ${#holds[@]} -gt 0 ]]; then printf 'W\tno versionlock plugin: pinned versions are installed but not locked\n'
  fi
  if [[ ${#installs[@]} -gt 0 ]]; then
    args=()
    for entry in "${installs[@]}"; do
      name=${entry%%$'\t'*} version=${entry#*$'\t'}
      if [[ $lock == true ]]; then "$yum" versionlock delete -- "$name" >/dev/null 2>&1 || true; fi
      if [[ $version == - ]]; then args+=("$name"); else args+=("$name-$version"); fi
    done
    "$yum" install -y --allowerasing -- "${args[@]}" >&2 || "$yum" install -y -- "${args[@]}" >&2 ||
      fail "$yum install ${args[*]} failed"
  fi
  if [[ $lock == true && ${#unholds[@]} -gt 0 ]]; then
    "$yum" versionlock delete -- "${unholds[@]}" >/dev/null 2>&1 || true
  fi
  if [[ $lock == true && ${#holds[@]} -gt 0 ]]; then
    "$yum" versionlock add -- "${holds[@]}" >/dev/null || fail "$yum versionlock add failed"
  fi
  for name in ${names[@]+"${names[@]}"}; do
    version=$(rpm -q --qf '%{VERSION}-%{RELEASE}' -- "$name" 2>/dev/null) || version=''
    printf 'P\t%s\t%s\n' "$name" "$version"
  done
else
  fail "unknown package manager '$manager'"
fi

# Packages enable their own units (the Mesos packages: mesos-master and mesos-slave on every host).
for unit in ${foreign[@]+"${foreign[@]}"}; do
  if [[ $(systemctl is-enabled -- "$unit" 2>/dev/null) == enabled ]] || systemctl is-active --quiet -- "$unit"; then
    systemctl disable --now -- "$unit" >/dev/null 2>&1 || printf 'W\tcould not stop and disable %s\n' "$unit"
  fi
done
printf 'E\tdone\n'
