#!/usr/bin/env bash
# meso's health probes on one host, in one round trip. Fixed text; what to probe arrives on stdin:
#   Z <port>                          ask the local ZooKeeper for its role (four-letter word srvr)
#   H <name> <address> <port> <path>  HTTP GET (e.g. a master's /metrics/snapshot, Marathon's /ping)
#   P <name> <address> <port> <path> <base64 JSON body>  HTTP POST (the master's operator API)
#   T <name> <address> <port>         does a TCP connection open (an add-on's tcp health check)
#   U <unit>                          systemd's view of a unit (is it running, failing, restarting)
#   J <unit> <lines>                  the last lines of the unit's journal
# Answers:
#   Z <leader|follower|standalone|observer|down>
#   H <name> <the raw HTTP response, base64, at most 16 MiB (a master's /master/slaves or GET_AGENTS grows by a few KiB per agent); empty when nothing answered>
#   T <name> <open|closed>
#   U <unit> <ActiveState> <SubState> <NRestarts> <Result>
#   J <unit> <the journal lines, base64, at most 16 KiB>
#   E done
set -o nounset -o pipefail
export LC_ALL=C

while IFS=$'\t' read -r kind a b c d; do
  case $kind in
    Z)
      # shellcheck disable=SC2016 # $1 is expanded by the inner bash, from an argument.
      answer=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && cat <&3' _ "$a" 2>/dev/null)
      mode=$(printf '%s\n' "$answer" | sed -n 's/^Mode: //p')
      printf 'Z\t%s\n' "${mode:-down}"
      ;;
    H)
      # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments.
      response=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" "$3" "$1" >&3 && head -c 16777216 <&3' _ "$b" "$c" "$d" 2>/dev/null | base64 -w0)
      printf 'H\t%s\t%s\n' "$a" "$response"
      ;;
    P)
      IFS=$'\t' read -r path body <<<"$d"
      # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments.
      response=$(timeout 10 bash -c 'body=$(printf %s "$4" | base64 -d) && exec 3<>"/dev/tcp/$1/$2" && printf "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s" "$3" "$1" "${#body}" "$body" >&3 && head -c 16777216 <&3' _ "$b" "$c" "$path" "$body" 2>/dev/null | base64 -w0)
      printf 'H\t%s\t%s\n' "$a" "$response"
      ;;
    T)
      # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments.
      if timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$b" "$c" 2>/dev/null; then tcp=open; else tcp=closed; fi
      printf 'T\t%s\t%s\n' "$a" "$tcp"
      ;;
    U)
      state=$(systemctl show --property=ActiveState,SubState,NRestarts,Result -- "$a" 2>/dev/null)
      field() { printf '%s\n' "$state" | sed -n "s/^$1=//p"; }
      printf 'U\t%s\t%s\t%s\t%s\t%s\n' "$a" "$(field ActiveState)" "$(field SubState)" "$(field NRestarts)" "$(field Result)"
      ;;
    J)
      case $b in '' | *[!0-9]*) b=20 ;; esac
      lines=$(journalctl --no-pager --output=cat --lines="$b" --unit="$a" 2>/dev/null | tail -c 16384 | base64 -w0)
      printf 'J\t%s\t%s\n' "$a" "$lines"
      ;;
  esac
done
printf 'E\tdone\n'
