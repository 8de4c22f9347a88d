# shellcheck shell=bash
# Guest side of test/vm/lvs-cluster.test.ts: the seeds' NAT and DR clusters
# (cluster.sh) under keepalived-ts's checker side, then the same configs under
# Debian's keepalived, with real traffic through the VIP. Prints `result` lines
# (@@RESULT NAME VALUE); the host test asserts on them. Every wait is bounded.
set -u
source test/vm/guest/cluster.sh
trap cluster_down EXIT

OURS=(node dist/cli/main.js)
KEEPALIVED=(keepalived)
DIR=/tmp/kats-lvs
mkdir -p "$DIR/sorry"
echo sorry >"$DIR/sorry/index.html"

# NAT: a rr service with one plain and one inhibit_on_failure real server; a
# quorum service with a sorry server (a second httpd on rs2:8081); a persistent
# wlc service with a granularity; an fwmark sh service with sh-port.
cat >"$DIR/nat.conf" <<'EOF'
global_defs {
    router_id kats-vm
}
virtual_server 10.40.1.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.40.2.11 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.40.2.12 8080 {
        weight 2
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 10.40.1.100 8000 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 10.40.2.12 8081
    real_server 10.40.2.11 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.40.2.12 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 10.40.1.100 443 {
    delay_loop 5
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    real_server 10.40.2.11 8080 {
        weight 3
    }
    real_server 10.40.2.12 8080 {
        weight 4
    }
}
virtual_server_group G1 {
    10.40.1.101-102 80
    fwmark 9
}
virtual_server group G1 {
    delay_loop 5
    lb_algo lc
    lb_kind NAT
    protocol TCP
    real_server 10.40.2.12 8080 {
        weight 5
    }
}
virtual_server fwmark 7 {
    delay_loop 5
    lb_algo sh
    sh-port
    lb_kind NAT
    real_server 10.40.2.11 8080 {
    }
}
EOF

cat >"$DIR/dr.conf" <<'EOF'
virtual_server 10.40.3.100 80 {
    delay_loop 1
    lb_algo wlc
    lb_kind DR
    protocol TCP
    real_server 10.40.3.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.40.3.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
EOF

# A MASTER instance on the director's client side driving the IPVS sync daemon.
cat >"$DIR/sync.conf" <<'EOF'
global_defs {
    lvs_sync_daemon eth0 VI_1 id 5
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.40.1.100/24
    }
}
virtual_server 10.40.1.100 80 {
    delay_loop 5
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.40.2.11 8080 {
    }
}
EOF

table() { in_ns director ipvsadm -Ln; }
daemons() { in_ns director ipvsadm -Ln --daemon; }
master_daemon() { daemons | grep -q 'master sync daemon'; }
vip_present() { ip -n director -4 addr show dev eth0 | grep -q '10.40.1.100/24'; }
# has_dest SERVICE DEST: DEST is in SERVICE's list (e.g. 10.40.1.100:80 10.40.2.11:8080).
has_dest() { in_ns director ipvsadm -Ln -t "$1" 2>/dev/null | awk -v d="$2" '$1 == "->" && $2 == d { f = 1 } END { exit !f }'; }
no_dest() { ! has_dest "$@"; }
dest_weight_is() { in_ns director ipvsadm -Ln -t "$1" 2>/dev/null | awk -v d="$2" -v w="$3" '$1 == "->" && $2 == d && $4 == w { f = 1 } END { exit !f }'; }
# gets N URL: N client requests, bodies space-separated.
gets() { local i out=(); for ((i = 0; i < $1; i++)); do out+=("$(client_get "$2" || echo FAIL)"); done; echo "${out[*]}"; }
# timed NAME SECONDS cmd...: wait for cmd, report the milliseconds it took as NAME (or "timeout").
timed() {
  local name=$1 seconds=$2 t0
  shift 2
  t0=$(now_ms)
  if wait_until "$seconds" "$@"; then result "$name" $(($(now_ms) - t0)); else result "$name" timeout; fi
}

# daemon NAME CONF: start one, wait until its first service is in the table.
daemon() {
  local who=$1 conf=$2 vs=$3 first=$4 cmd
  # Ours also answers `status` on its own socket and serves metrics inside the director.
  if [ "$who" = ours ]; then cmd=("${OURS[@]}" --control-socket="$DIR/ours.sock" --metrics=127.0.0.1:9650); else cmd=("${KEEPALIVED[@]}"); fi
  bg_start "$who" director "${cmd[@]}" -C -n -l -D -G -f "$conf" -p "$DIR/$who.pid" -r "$DIR/$who-vrrp.pid" -c "$DIR/$who-check.pid"
  wait_until 120 has_dest "$vs" "$first" || { result "$who.start" failed; bg_log "$who" >&2; return 1; }
  result "$who.start" ok
}

# stop_daemon WHO RUN: SIGTERM, then its exit status, what it left and its log as RUN.WHO.*.
stop_daemon() {
  bg_stop "$1" TERM 20
  result "$2.$1.exit" "${BG_STATUS:-killed}"
  result "$2.$1.after_stop" "$(table)"
  result "$2.$1.log" "$(bg_log "$1")"
}

nat_run() {
  local who=$1
  cluster_nat_up && cluster_vip_add || return 1
  in_ns director ipvsadm -A -t 10.40.1.1:9999 -s rr # not ours: must survive
  ip netns exec rs2 busybox httpd -f -p 8081 -h "$DIR/sorry" </dev/null >/dev/null 2>&1 &
  disown $!
  daemon "$who" "$DIR/nat.conf" 10.40.1.100:80 10.40.2.12:8080 || return 1
  # Let every checker run once (1 s bootstrap + up to delay_loop of warm-up).
  sleep 4
  result "nat.$who.table" "$(table)"
  [ "$who" = ours ] || { stop_daemon "$who" nat; return 0; }
  result nat.status "$("${OURS[@]}" status --json --socket "$DIR/ours.sock" | tr -d '\n')"
  result nat.metrics "$(in_ns director timeout -s KILL 5 busybox wget -q -O - http://127.0.0.1:9650/metrics)"
  result nat.clients "$(gets 4 http://10.40.1.100/)"

  rs_http_stop rs1
  timed nat.rs1_removed_ms 20 no_dest 10.40.1.100:80 10.40.2.11:8080
  timed nat.sorry_in_ms 20 has_dest 10.40.1.100:8000 10.40.2.12:8081
  result nat.table_rs1_down "$(table)"
  result nat.clients_rs1_down "$(gets 2 http://10.40.1.100/)"
  result nat.clients_sorry "$(gets 1 http://10.40.1.100:8000/)"

  rs_http_start rs1
  timed nat.rs1_back_ms 20 has_dest 10.40.1.100:80 10.40.2.11:8080
  timed nat.sorry_out_ms 20 no_dest 10.40.1.100:8000 10.40.2.12:8081
  result nat.table_rs1_back "$(table)"

  rs_http_stop rs2
  timed nat.rs2_inhibited_ms 20 dest_weight_is 10.40.1.100:80 10.40.2.12:8080 0
  result nat.clients_rs2_down "$(gets 2 http://10.40.1.100/)"
  rs_http_start rs2
  timed nat.rs2_enabled_ms 20 dest_weight_is 10.40.1.100:80 10.40.2.12:8080 2
  stop_daemon "$who" nat
}

dr_run() {
  local who=$1
  cluster_dr_up && cluster_vip_add || return 1
  daemon "$who" "$DIR/dr.conf" 10.40.3.100:80 10.40.3.12:80 || return 1
  sleep 4
  result "dr.$who.table" "$(table)"
  [ "$who" = ours ] || { stop_daemon "$who" dr; return 0; }
  result dr.clients "$(gets 4 http://10.40.3.100/)"
  rs_http_stop rs1
  timed dr.rs1_removed_ms 20 no_dest 10.40.3.100:80 10.40.3.11:80
  result dr.clients_rs1_down "$(gets 2 http://10.40.3.100/)"
  rs_http_start rs1
  timed dr.rs1_back_ms 20 has_dest 10.40.3.100:80 10.40.3.11:80
  stop_daemon "$who" dr
}

# sync_run WHO: the whole daemon (VRRP and checkers); the master sync daemon while MASTER, none after SIGTERM.
sync_run() {
  local who=$1 cmd
  cluster_nat_up || return 1
  if [ "$who" = ours ]; then cmd=("${OURS[@]}"); else cmd=("${KEEPALIVED[@]}"); fi
  bg_start "$who" director "${cmd[@]}" -n -l -D -G -f "$DIR/sync.conf" -p "$DIR/$who.pid" -r "$DIR/$who-vrrp.pid" -c "$DIR/$who-check.pid"
  timed "sync.$who.master_ms" 120 master_daemon
  wait_until 30 vip_present || true
  result "sync.$who.daemons" "$(daemons)"
  result "sync.$who.vip" "$(vip_present && echo yes || echo no)"
  stop_daemon "$who" sync
  result "sync.$who.daemons_after" "$(daemons)"
}

nat_run ours
nat_run keepalived
sync_run ours
sync_run keepalived
dr_run ours
dr_run keepalived
result done yes
