# shellcheck shell=bash
# LVS topologies for scripts run in the test VM (test/helpers/vm.ts), built
# from network namespaces, veth pairs and bridges; busybox httpd plays the
# real servers (each serves a page holding its own name) and busybox wget the
# client. Source it: `source test/vm/guest/cluster.sh` (cwd is the checkout).
#
#   cluster_nat_up   client 10.40.1.10/24 -- director eth0 10.40.1.1/24;
#                    director eth1 10.40.2.1/24 -- bridge (namespace sw) --
#                    rs1 10.40.2.11, rs2 10.40.2.12 (default route: the
#                    director, which forwards). httpd on 8080: VS port 80 maps
#                    to RS port 8080. VIP 10.40.1.100 (director eth0).
#   cluster_dr_up    one segment 10.40.3.0/24 on a bridge (namespace sw):
#                    client .10, director .1, rs1 .11, rs2 .12; the VIP
#                    10.40.3.100 on the real servers' lo with arp_ignore=1 and
#                    arp_announce=2; httpd on 80. VIP on director eth0.
#
# After either: CLUSTER_VIP, CLUSTER_VIP_DEV, CLUSTER_RS_PORT, CLUSTER_RS_IPS.
# The VIP is not on the director until cluster_vip_add (or the daemon under
# test) puts it there. Everything waits with a bound; cluster_down is
# idempotent and also kills whatever still runs in the namespaces. Safe under
# `set -e` and `set -u`: functions fail only for real failures, with a line
# on stderr.

CLUSTER_STATE=/run/kats-cluster
CLUSTER_NAMESPACES=(client director rs1 rs2 sw)

# result NAME VALUE...: one line the host reads with vmResults(); newlines in
# VALUE become a literal \n.
result() {
  local name=$1
  shift
  local value="$*"
  printf '@@RESULT %s %s\n' "$name" "${value//$'\n'/\\n}"
}

in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

now_ms() {
  local us=${EPOCHREALTIME//[.,]/}
  echo $((us / 1000))
}

# wait_until SECONDS cmd...: runs cmd (output discarded) every 0.2 s until it
# succeeds (status 0) or SECONDS (whole seconds) have passed (status 1).
wait_until() {
  local seconds=$1
  shift
  local deadline=$(($(now_ms) + seconds * 1000))
  until "$@" >/dev/null 2>&1; do
    if [ "$(now_ms)" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}

_must() {
  "$@" || {
    echo "cluster: '$*' failed" >&2
    return 1
  }
}

# _ns_batch NS: the ip commands on stdin, run by one process in NS (each
# process costs ~0.2 s under emulation); stops at the first failure.
_ns_batch() {
  local script
  script=$(cat)
  ip -n "$1" -batch - <<<"$script" || {
    printf 'cluster: in namespace %s, one of these failed:\n%s\n' "$1" "$script" >&2
    return 1
  }
}

# _cluster_begin NS:IF...: fresh namespaces with lo up, and in sw a bridge
# br0 with a port p-NS whose veth peer is NS's interface IF.
_cluster_begin() {
  cluster_down
  mkdir -p "$CLUSTER_STATE"
  local ns spec
  printf 'netns add %s\n' "${CLUSTER_NAMESPACES[@]}" | ip -batch - || {
    echo "cluster: cannot create the namespaces ${CLUSTER_NAMESPACES[*]}" >&2
    return 1
  }
  for ns in "${CLUSTER_NAMESPACES[@]}"; do
    _must ip -n "$ns" link set lo up || return 1
  done
  {
    echo "link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0"
    echo "link set br0 up"
    for spec in "$@"; do
      echo "link add p-${spec%%:*} type veth peer name ${spec#*:} netns ${spec%%:*}"
      echo "link set p-${spec%%:*} master br0"
      echo "link set p-${spec%%:*} up"
    done
  } | _ns_batch sw
}

cluster_nat_up() {
  _cluster_begin director:eth1 rs1:eth0 rs2:eth0 || return 1
  echo nat >"$CLUSTER_STATE/kind"
  _ns_batch client <<'EOF' || return 1
link add eth0 type veth peer name eth0 netns director
addr add 10.40.1.10/24 dev eth0
link set eth0 up
EOF
  _ns_batch director <<'EOF' || return 1
addr add 10.40.1.1/24 dev eth0
link set eth0 up
addr add 10.40.2.1/24 dev eth1
link set eth1 up
EOF
  local i
  for i in 1 2; do
    _ns_batch "rs$i" <<EOF || return 1
addr add 10.40.2.1$i/24 dev eth0
link set eth0 up
route add default via 10.40.2.1
EOF
  done
  _must in_ns director sysctl -qw net.ipv4.ip_forward=1 || return 1
  _cluster_vars
  _cluster_http_up
}

cluster_dr_up() {
  _cluster_begin client:eth0 director:eth0 rs1:eth0 rs2:eth0 || return 1
  echo dr >"$CLUSTER_STATE/kind"
  local spec ns
  for spec in client:10 director:1 rs1:11 rs2:12; do
    _ns_batch "${spec%%:*}" <<EOF || return 1
addr add 10.40.3.${spec#*:}/24 dev eth0
link set eth0 up
EOF
  done
  for ns in rs1 rs2; do
    # The real servers accept the VIP but never answer ARP for it: only the
    # director does, so the client's frames for the VIP reach the director.
    _must ip -n "$ns" addr add 10.40.3.100/32 dev lo &&
      _must in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 || return 1
  done
  _cluster_vars
  _cluster_http_up
}

_cluster_vars() {
  case "$(cat "$CLUSTER_STATE/kind" 2>/dev/null)" in
    nat) CLUSTER_VIP=10.40.1.100 CLUSTER_RS_PORT=8080 CLUSTER_RS_IPS=(10.40.2.11 10.40.2.12) ;;
    dr) CLUSTER_VIP=10.40.3.100 CLUSTER_RS_PORT=80 CLUSTER_RS_IPS=(10.40.3.11 10.40.3.12) ;;
    *) return 1 ;;
  esac
  CLUSTER_VIP_DEV=eth0
}

# cluster_vip_add / cluster_vip_del: the VIP on the director, when the daemon
# under test does not add it itself.
cluster_vip_add() {
  _must ip -n director addr add "$CLUSTER_VIP/32" dev "$CLUSTER_VIP_DEV"
}

cluster_vip_del() {
  ip -n director addr del "$CLUSTER_VIP/32" dev "$CLUSTER_VIP_DEV" 2>/dev/null || true
}

_cluster_http_up() {
  _http_spawn rs1 && _http_spawn rs2 && _http_wait rs1 && _http_wait rs2
}

_http_listening() {
  in_ns "$1" ss -Hltn "sport = :$CLUSTER_RS_PORT" | grep -q .
}

_http_closed() {
  ! _http_listening "$1"
}

_http_spawn() {
  local name=$1 dir="$CLUSTER_STATE/$1"
  mkdir -p "$dir/www"
  echo "$name" >"$dir/www/index.html"
  # Not through in_ns: a backgrounded function is a subshell, and $! would
  # name it rather than httpd (ip netns exec execs its command in place).
  ip netns exec "$name" busybox httpd -f -p "$CLUSTER_RS_PORT" -h "$dir/www" </dev/null >>"$dir/httpd.log" 2>&1 &
  echo $! >"$dir/httpd.pid"
  # Its end is expected: keep bash from reporting it ("Terminated").
  disown $!
}

_http_wait() {
  wait_until 5 _http_listening "$1" || {
    echo "cluster: httpd in $1 not listening on $CLUSTER_RS_PORT" >&2
    return 1
  }
}

# rs_http_start NAME: busybox httpd in NAME serving "NAME\n", up within 5 s.
rs_http_start() {
  _http_spawn "$1" && _http_wait "$1"
}

# rs_http_stop NAME: its httpd gone and the port closed within 5 s.
rs_http_stop() {
  local pidfile="$CLUSTER_STATE/$1/httpd.pid"
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
  wait_until 5 _http_closed "$1" || {
    echo "cluster: httpd in $1 still listening" >&2
    return 1
  }
}

# client_get URL: the body, or a failure within 3 s. (Debian's busybox 1.35
# wget segfaults when given -T, so the bound is timeout's.)
client_get() {
  in_ns client timeout -s KILL 3 busybox wget -q -O - "$1"
}

# bg_start NAME NS cmd...: cmd in the background in namespace NS, output in
# $CLUSTER_STATE/NAME.log (see bg_log), pid remembered for bg_stop.
bg_start() {
  local name=$1 ns=$2
  shift 2
  mkdir -p "$CLUSTER_STATE"
  ip netns exec "$ns" "$@" </dev/null >"$CLUSTER_STATE/$name.log" 2>&1 &
  echo $! >"$CLUSTER_STATE/$name.pid"
}

bg_log() {
  cat "$CLUSTER_STATE/$1.log" 2>/dev/null || true
}

bg_running() {
  local pid
  pid=$(cat "$CLUSTER_STATE/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null
}

_pid_gone() {
  ! kill -0 "$1" 2>/dev/null
}

# bg_stop NAME [SIGNAL] [SECONDS]: signal it (default TERM), wait up to SECONDS
# (default 10) for it to exit and set BG_STATUS to its exit status (143:
# ended by SIGTERM's default action); past the bound, SIGKILL and status 1.
# Call it from the shell that ran bg_start, not in $(...): only the parent
# shell can collect the exit status.
bg_stop() {
  local name=$1 sig=${2:-TERM} seconds=${3:-10} pid
  BG_STATUS=
  pid=$(cat "$CLUSTER_STATE/$name.pid" 2>/dev/null) || return 0
  rm -f "$CLUSTER_STATE/$name.pid"
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! wait_until "$seconds" _pid_gone "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" 2>/dev/null && BG_STATUS=0 || BG_STATUS=$?
}

# cluster_down: every process in the namespaces killed, namespaces deleted.
cluster_down() {
  local ns pid
  # Every job of this shell is about to be killed; bash need not report each.
  disown -a 2>/dev/null || true
  for ns in "${CLUSTER_NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  printf 'netns delete %s\n' "${CLUSTER_NAMESPACES[@]}" | ip -force -batch - >/dev/null 2>&1 || true
  rm -rf "$CLUSTER_STATE"
  unset CLUSTER_VIP CLUSTER_VIP_DEV CLUSTER_RS_PORT CLUSTER_RS_IPS
  return 0
}
