# shellcheck shell=bash
# Guest side of `npm run lab` (scripts/lab/run.sh boots the IPVS VM and runs
# this as root, cwd = the checkout). Builds an LVS-DR cluster out of network
# namespaces on one bridge, runs keepalived-ts on two directors with the
# example etc/keepalived/keepalived.conf (the backup with `-i backup`), shows
# a client's requests alternating between the real servers, kills the master
# (its daemon and its link, as a crashed host), shows the backup take over,
# prints a summary and cleans up. Everything goes to the serial console as it
# happens; every wait is bounded.
#
#   lab-client 192.168.100.50 ─┐
#   lab-d1     192.168.100.2  ─┤ bridge    VIP 192.168.100.100:80 (rr, DR)
#   lab-d2     192.168.100.3  ─┤ (lab-sw)
#   lab-rs1    192.168.100.11 ─┤           real servers: busybox httpd on :80,
#   lab-rs2    192.168.100.12 ─┘           the VIP on lo, arp_ignore/announce
set -u
# The console is what the host shows live; the job's output file is read only at the end.
if [ -w /dev/ttyS0 ]; then exec >/dev/ttyS0 2>&1; fi

CONF=etc/keepalived/keepalived.conf
VIP=192.168.100.100
LAB=/run/kats-lab
NAMESPACES=(lab-sw lab-d1 lab-d2 lab-rs1 lab-rs2 lab-client)
T0=${EPOCHREALTIME/[.,]/}
BG_PIDS=()

now_ms() {
  local us=${EPOCHREALTIME/[.,]/}
  echo $(((us - T0) / 1000))
}

say() {
  local ms
  ms=$(now_ms)
  printf '[%4d.%ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}

section() {
  printf '\n'
  say "== $*"
}

# wait_for SECONDS cmd...: true once cmd succeeds, false after SECONDS.
wait_for() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

die() {
  say "FAILED: $*"
  exit 1
}

cleanup() {
  local pid ns
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for ns in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns delete "$ns" 2>/dev/null
  done
  wait 2>/dev/null
}
trap cleanup EXIT

has_vip() { ip -n "$1" -4 addr show dev eth0 | grep -q " $VIP/"; }
ipvs_has_both() {
  local t
  t=$(ip netns exec "$1" ipvsadm -Ln 2>/dev/null)
  grep -q '192.168.100.11:80' <<<"$t" && grep -q '192.168.100.12:80' <<<"$t"
}
httpd_up() { ip netns exec "$1" busybox wget -q -O /dev/null "http://192.168.100.$2/"; }

# follow NAME FILE: the daemon's console lines an operator would watch, as they
# come (through a FIFO, so that both the tail and the reader can be stopped).
follow() {
  local name=$1 file=$2 line msg
  mkfifo "$LAB/$name.fifo"
  tail -n +1 -F "$file" 2>/dev/null >"$LAB/$name.fifo" &
  BG_PIDS+=($!)
  while IFS= read -r line; do
    msg=${line#* [0-9][0-9][0-9][0-9]: }
    case $msg in
      *" STATE"* | *"VIPs."* | "Adding service"* | "Removing service"* | *"succeed on service"* | *"connection to"*"success"* | \
        *" failed"* | "Startup complete" | "Stopping" | "Stopped Keepalived"* | "Starting "*" child process"* | *"sent 0 priority"*)
        say "  [$name] $msg" ;;
    esac
  done <"$LAB/$name.fifo" &
  BG_PIDS+=($!)
}

# --- the cluster ---
section "building the LVS-DR cluster (namespaces on one bridge)"
rm -rf "$LAB"
mkdir -p "$LAB"
# One ip process per namespace: each costs a fraction of a second under emulation.
for ns in "${NAMESPACES[@]}"; do ip netns delete "$ns" 2>/dev/null; done
printf 'netns add %s\n' "${NAMESPACES[@]}" | ip -batch - || die "ip netns add"
{
  echo "link set lo up"
  echo "link add br0 type bridge stp_state 0 forward_delay 0"
  echo "link set br0 up"
  i=0
  for name in d1 d2 rs1 rs2 client; do
    i=$((i + 1))
    echo "link add p$i type veth peer name eth0 netns lab-$name"
    echo "link set p$i master br0"
    echo "link set p$i up"
  done
} | ip -n lab-sw -batch - || die "the bridge and its ports"
for spec in d1:2 d2:3 rs1:11 rs2:12 client:50; do
  name=${spec%%:*} host=${spec#*:}
  ip -n "lab-$name" -batch - <<EOF || die "addresses of $name"
link set lo up
link set eth0 address 02:00:00:00:64:$(printf %02x "$host")
addr add 192.168.100.$host/24 dev eth0
link set eth0 up
EOF
  say "$name: 192.168.100.$host"
done
for rs in rs1 rs2; do
  # LVS-DR: the real server accepts the VIP but never answers ARP for it.
  ip -n "lab-$rs" addr add "$VIP/32" dev lo
  ip netns exec "lab-$rs" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
    net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
  mkdir -p "$LAB/$rs"
  echo "$rs" >"$LAB/$rs/index.html"
  ip netns exec "lab-$rs" busybox httpd -f -p 80 -h "$LAB/$rs" </dev/null >/dev/null 2>&1 &
  BG_PIDS+=($!)
done
wait_for 10 httpd_up lab-client 11 && wait_for 10 httpd_up lab-client 12 || die "the real servers' httpd did not come up"
say "real servers rs1 (.11) and rs2 (.12) serve their name on port 80; VIP $VIP on their lo"

# --- the directors ---
section "starting keepalived-ts on both directors with $CONF"
start_director() {
  local name=$1
  shift
  mkdir -p "$LAB/$name"
  say "$name: keepalived-ts -n -l -D -f $CONF $*"
  ip netns exec "lab-$name" node dist/cli/main.js -n -l -D -f "$CONF" "$@" \
    -p "$LAB/$name/keepalived.pid" -r "$LAB/$name/vrrp.pid" -c "$LAB/$name/checkers.pid" \
    --control-socket="$LAB/$name/control.sock" </dev/null >"$LAB/$name.log" 2>&1 &
  # Killed on purpose later: keep bash from reporting it.
  disown $!
  follow "$name" "$LAB/$name.log"
}
start_director d1
start_director d2 -i backup
say "(node starts slowly under qemu's emulation: six processes take a minute or two)"
wait_for 120 has_vip lab-d1 || die "d1 never took the VIP (its log: $(tail -n 20 "$LAB/d1.log"))"
say "d1 holds the VIP"
wait_for 60 ipvs_has_both lab-d1 || die "d1's IPVS table never got both real servers"
wait_for 60 ipvs_has_both lab-d2 || die "d2's IPVS table never got both real servers"
say "IPVS on d1 (ipvsadm -Ln):"
ip netns exec lab-d1 ipvsadm -Ln | sed 's/^/           /'

# --- traffic ---
section "client requests to http://$VIP/ every 0.5 s"
: >"$LAB/requests"
client_loop() {
  local body
  while [ ! -e "$LAB/stop-client" ]; do
    # Debian's busybox wget crashes with -T: timeout bounds it instead.
    body=$(ip netns exec lab-client timeout -s KILL 2 busybox wget -q -O - "http://$VIP/" 2>/dev/null)
    body=${body:-no answer}
    echo "$(now_ms) $body" >>"$LAB/requests"
    say "client: GET http://$VIP/ -> $body"
    sleep 0.5
  done
}
client_loop &
client=$!
BG_PIDS+=("$client")
count_requests() { [ "$(wc -l <"$LAB/requests")" -ge "$1" ]; }
wait_for 60 count_requests 8 || die "the client made no progress"

# --- failover ---
section "killing the master: SIGKILL to keepalived-ts on d1 and its link down (a crashed host)"
for pid in $(ip netns pids lab-d1); do kill -KILL "$pid" 2>/dev/null; done
ip -n lab-d1 link set eth0 down
kill_ms=$(now_ms)
say "d1 is gone"
wait_for 30 has_vip lab-d2 || die "d2 never took the VIP"
say "d2 holds the VIP"
answered_after_kill() { awk -v k="$kill_ms" '$1 > k && $2 ~ /^rs/ { n++ } END { exit !(n >= 4) }' "$LAB/requests"; }
wait_for 30 answered_after_kill || say "the client got fewer than 4 answers after the failover"
touch "$LAB/stop-client"
wait "$client" 2>/dev/null

# --- summary ---
section "summary"
before=$(awk -v k="$kill_ms" '$1 <= k { printf "%s ", $2 }' "$LAB/requests")
after=$(awk -v k="$kill_ms" '$1 > k { printf "%s ", $2 }' "$LAB/requests")
# The client's longest wait: from its last answer before the kill to its first one after.
last_ok=$(awk -v k="$kill_ms" '$1 <= k && $2 ~ /^rs/ { t = $1 } END { print t + 0 }' "$LAB/requests")
first_ok=$(awk -v k="$kill_ms" '$1 > k && $2 ~ /^rs/ { print $1; exit }' "$LAB/requests")
lost=$(awk -v k="$kill_ms" '$1 > k && $2 !~ /^rs/ { n++ } END { print n + 0 }' "$LAB/requests")
master_at=$(grep 'Entering MASTER STATE' "$LAB/d2.log" | tail -n 1 | sed 's/: (VI_1).*//')
alternating=yes
awk -v k="$kill_ms" '$1 <= k { if ($2 == prev || $2 !~ /^rs/) bad = 1; prev = $2 } END { exit bad }' "$LAB/requests" || alternating=no
say "before the kill: $before"
say "after the kill:  $after"
say "requests alternated between rs1 and rs2 before the kill: $alternating"
say "d2 entered MASTER at $master_at"
if [ -n "$first_ok" ]; then
  gap=$((first_ok - last_ok))
  say "the client went $((gap / 1000)).$((gap % 1000 / 100)) s without an answer across the failover; $lost request(s) got none"
else
  say "the client got no answer after the failover"
fi
say "keepalived-ts status on d2:"
ip netns exec lab-d2 node dist/cli/main.js status --socket "$LAB/d2/control.sock" 2>&1 | sed 's/^/           /'

section "stopping d2 (SIGTERM: priority 0 advert, VIP and IPVS entries removed) and cleaning up"
d2=$(cat "$LAB/d2/keepalived.pid" 2>/dev/null)
[ -n "$d2" ] && kill -TERM "$d2"
stopped() { ! kill -0 "$d2" 2>/dev/null; }
wait_for 20 stopped || say "d2 did not stop within 20 s"
sleep 0.5
has_vip lab-d2 && say "d2 still has the VIP" || say "d2 released the VIP"
[ -z "$(ip netns exec lab-d2 ipvsadm -Ln | grep -- '->.*192.168.100.1[12]')" ] && say "d2's IPVS table is empty of our servers"
result=0
if [ "$alternating" != yes ] || [ -z "$first_ok" ]; then result=1; fi
say "lab done ($([ $result = 0 ] && echo ok || echo 'with problems'))"
exit $result
