# shellcheck shell=bash
# Guest side of test/vm/reload.test.ts: the whole daemon (VRRP + checkers) on
# the NAT cluster's director (cluster.sh), a client holding a TCP connection
# through the VIP (busybox nc, one line every 0.2 s, to an `nc -l` on rs1),
# then SIGHUP to the parent pid with a configuration that adds a VIP and a
# real server, then SIGHUP with a broken file. Observes the kernel (VIPs,
# `ipvsadm -Sn`, polled during the reload), the connection and the log; the
# checker side's SIGUSR1 file gives its count of IPVS requests. Prints
# `result` lines (@@RESULT NAME VALUE). Every wait is bounded.
set -u
source test/vm/guest/cluster.sh

DIR=/tmp/kats-reload
rm -rf "$DIR"
mkdir -p "$DIR"
STOP_FILES=("$DIR/sender.stop" "$DIR/poll.stop")
finish() {
  touch "${STOP_FILES[@]}"
  cluster_down
}
trap finish EXIT

OURS=(node dist/cli/main.js)
CONF=$DIR/keepalived.conf
LOG=$CLUSTER_STATE/ours.log

# conf VIPS RS2: the configuration, with these VIP lines and, if RS2 is
# "yes", rs2 in the checked service.
conf() {
  local vips=$1 rs2=$2
  cat <<EOF
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
$vips
    }
}
virtual_server 10.40.1.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.40.2.11 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
EOF
  if [ "$rs2" = yes ]; then
    cat <<'EOF'
    real_server 10.40.2.12 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
EOF
  fi
  # The long-lived connection's service: no checker (a TCP_CHECK would take nc's one accept).
  cat <<'EOF'
}
virtual_server 10.40.1.100 9000 {
    delay_loop 5
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.40.2.11 9000 {
    }
}
EOF
}

rules() { in_ns director ipvsadm -Sn | sort; }
vip_on() { ip -n director -4 addr show dev eth0 | grep -q "inet $1/"; }
has_dest() { in_ns director ipvsadm -Ln -t "$1" 2>/dev/null | awk -v d="$2" '$1 == "->" && $2 == d { f = 1 } END { exit !f }'; }
log_has() { grep -qF -- "$1" "$LOG"; }
log_lines_from() { tail -n "+$(($1 + 1))" "$LOG"; }
log_size() { wc -l <"$LOG"; }
received() { grep -c '^line ' "$DIR/received" 2>/dev/null || echo 0; }
sent() { cat "$DIR/sent" 2>/dev/null || echo 0; }
# in_order: the received lines are exactly line 1, line 2, … with nothing lost or repeated.
in_order() { awk '{ if ($0 != "line " NR) bad = 1 } END { exit bad }' "$DIR/received"; }
running() { kill -0 "$1" 2>/dev/null; }
at_least() { [ "$(received)" -ge "$1" ]; }

# ops_count TAG: SIGUSR1 to the parent; sets OPS to the checker side's IPVS
# request count from its data file (in $TMPDIR), "none" without one.
ops_count() {
  local file=$DIR/keepalived_check.data
  OPS=none
  rm -f "$file"
  kill -USR1 "$PARENT"
  wait_until 10 test -s "$file" || return 0
  sleep 0.3
  result "data.$1" "$(cat "$file")"
  result "data_mode.$1" "$(stat -c %a "$file")"
  OPS=$(sed -n 's/^ IPVS operations = \([0-9]*\), errors = [0-9]*$/\1/p' "$file")
}

# The poller, run in the director's namespace: one line per sample, with no
# process started per sample (under emulation each costs ~0.2 s): VIP .100
# local, VIP .101 local, every IPVS entry of the first sample still there,
# the time in ms. Entries from /proc/net/ip_vs without their counters.
cat >"$DIR/poll.sh" <<'POLL'
dir=$1
mkfifo "$dir/poll.fifo"
exec 3<>"$dir/poll.fifo"
entries() {
  local line w
  ENTRIES=()
  mapfile -t LINES </proc/net/ip_vs
  for line in "${LINES[@]:3}"; do
    w=($line)
    if [ "${w[0]}" = '->' ]; then ENTRIES+=("${w[*]:0:4}"); else ENTRIES+=("${w[*]}"); fi
  done
}
local_ip() { [[ $TRIE =~ [^0-9.]"$1"$'\n'[[:space:]]*"/32 host LOCAL" ]]; }
entries
BASE=("${ENTRIES[@]}")
n=0
while [ ! -e "$dir/poll.stop" ] && [ "$n" -lt 20000 ]; do
  entries
  mapfile -t T </proc/net/fib_trie
  printf -v TRIE '%s\n' "${T[@]}"
  printf -v have '%s\n' "${ENTRIES[@]}"
  have=$'\n'$have
  ok=1
  for e in "${BASE[@]}"; do [[ $have == *$'\n'"$e"$'\n'* ]] || ok=0; done
  a=0; b=0
  local_ip 10.40.1.100 && a=1
  local_ip 10.40.1.101 && b=1
  us=${EPOCHREALTIME//[.,]/}
  echo "$a $b $ok $((us / 1000)) ${#BASE[@]}" >>"$dir/poll.log"
  n=$((n + 1))
  read -r -t 0.05 -u 3 _ || true
done
POLL

sender() {
  local i
  for ((i = 1; i <= 1500; i++)); do
    [ -e "$DIR/sender.stop" ] && return 0
    echo "line $i" || return 0
    echo "$i" >"$DIR/sent"
    sleep 0.2
  done
}

main() {
  cluster_nat_up || { result setup failed; return 1; }
  conf "        10.40.1.100/24" no >"$CONF"
  bg_start ours director env TMPDIR="$DIR" "${OURS[@]}" -n -l -D -G -f "$CONF" -p "$DIR/k.pid" -r "$DIR/k-vrrp.pid" -c "$DIR/k-check.pid"
  if ! wait_until 120 vip_on 10.40.1.100 || ! wait_until 60 has_dest 10.40.1.100:80 10.40.2.11:8080 ||
    ! wait_until 30 has_dest 10.40.1.100:9000 10.40.2.11:9000; then
    result start failed
    result log "$(bg_log ours)"
    return 1
  fi
  PARENT=$(cat "$DIR/k.pid")
  result start ok
  result http "$(client_get http://10.40.1.100/ || echo FAIL)"

  # The connection: rs1 listens (its stdin never ends, so it never half-closes), the client sends.
  ip netns exec rs1 sh -c 'sleep 900 | exec busybox nc -l -p 9000' >"$DIR/received" 2>"$DIR/server.err" &
  SERVER=$!
  wait_until 10 in_ns rs1 sh -c "ss -Hltn 'sport = :9000' | grep -q ." || { result conn failed-listen; return 1; }
  sender | ip netns exec client busybox nc 10.40.1.100 9000 >"$DIR/client.out" 2>&1 &
  CLIENT=$!
  wait_until 15 at_least 5 || { result conn failed; result conn_err "$(cat "$DIR/client.out" "$DIR/server.err")"; return 1; }
  result conn ok

  # Before: the rules, the request count.
  local before after mark
  wait_until 15 log_has "TCP connection to [10.40.2.11]:tcp:8080 success." || true
  before=$(rules)
  result table_before "$before"
  result table_before_ln "$(in_ns director ipvsadm -Ln)"
  ops_count before
  result ops_before "$OPS"

  # Reload: a second VIP and rs2.
  ip netns exec director bash "$DIR/poll.sh" "$DIR" &
  local poller=$!
  wait_until 10 test -s "$DIR/poll.log" || true
  sleep 0.5
  conf "        10.40.1.100/24
        10.40.1.101/24" yes >"$CONF"
  mark=$(log_size)
  result hup_ms "$(now_ms)"
  kill -HUP "$PARENT"
  wait_until 30 has_dest 10.40.1.100:80 10.40.2.12:8080 || true
  wait_until 30 vip_on 10.40.1.101 || true
  wait_until 30 log_has "Reload complete" || true
  # rs2's checker runs a few times: nothing may flap.
  sleep 3
  touch "$DIR/poll.stop"
  wait "$poller" 2>/dev/null || true
  after=$(rules)
  result table_after "$after"
  result table_after_ln "$(in_ns director ipvsadm -Ln)"
  result vip101 "$(vip_on 10.40.1.101 && echo yes || echo no)"
  result poll_log "$(cat "$DIR/poll.log")"
  result reload_log "$(log_lines_from "$mark")"
  ops_count after
  result ops_after "$OPS"
  result conn_after_reload "$(running "$CLIENT" && echo running || echo gone) $(received) $(in_order && echo in-order || echo out-of-order)"

  # A broken file: every error logged, everything keeps serving.
  cat >"$DIR/broken.conf" <<'EOF'
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        10.40.1.100/24
    }
virtual_server 10.40.1.100 80 {
    lb_algo rr
    protocol TCP
    real_server 10.40.2.11 8080 {
    }
}
EOF
  cp "$DIR/broken.conf" "$CONF"
  # What the config test says about the same file, where the daemon runs.
  result broken_expected "$(in_ns director "${OURS[@]}" -t -f "$CONF" 2>&1)"
  local received_before
  received_before=$(received)
  mark=$(log_size)
  kill -HUP "$PARENT"
  wait_until 30 log_has "Reload aborted" || true
  sleep 3
  result broken_log "$(log_lines_from "$mark")"
  result table_after_broken "$(rules)"
  result vips_after_broken "$(vip_on 10.40.1.100 && echo yes || echo no) $(vip_on 10.40.1.101 && echo yes || echo no)"
  ops_count broken
  result ops_broken "$OPS"
  result http_after "$(client_get http://10.40.1.100/ || echo FAIL)"
  result conn_after_broken "$(running "$CLIENT" && echo running || echo gone) $(($(received) - received_before))"

  # kill -9 of the checker process: the parent respawns it, and the new one
  # adopts the correct table as it stands (zero IPVS requests, no entry gone).
  local cpid table_before_kill
  cpid=$(cat "$DIR/k-check.pid")
  table_before_kill=$(rules)
  rm -f "$DIR/poll.stop" "$DIR/poll.log"
  ip netns exec director bash "$DIR/poll.sh" "$DIR" &
  poller=$!
  wait_until 10 test -s "$DIR/poll.log" || true
  mark=$(log_size)
  kill -9 "$cpid"
  wait_until 60 sh -c "[ -s '$DIR/k-check.pid' ] && [ \"\$(cat '$DIR/k-check.pid')\" != '$cpid' ]" || true
  wait_until 30 log_has "TCP connection to [10.40.2.12]:tcp:8080 success." || true
  sleep 3
  touch "$DIR/poll.stop"
  wait "$poller" 2>/dev/null || true
  result respawn_log "$(log_lines_from "$mark")"
  result respawn_poll "$(cat "$DIR/poll.log")"
  result respawn_pid "$cpid $(cat "$DIR/k-check.pid")"
  result respawn_table "$( [ "$(rules)" = "$table_before_kill" ] && echo same || echo changed)"
  ops_count respawn
  result ops_respawn "$OPS"

  # The connection end to end: every line sent arrived, in order.
  touch "$DIR/sender.stop"
  sleep 0.5
  local s
  s=$(sent)
  wait_until 10 at_least "$s" || true
  result conn_final "$s $(received) $(in_order && echo in-order || echo out-of-order)"
  kill "$CLIENT" "$SERVER" 2>/dev/null || true

  bg_stop ours TERM 20
  result exit "${BG_STATUS:-killed}"
  result log "$(bg_log ours)"
  result after_stop "$(rules)"
}

main
result done yes
