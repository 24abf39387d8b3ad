# netlab.sh — an impaired-network lab for Switchboard tests (sourced, not run).
# Copied from shared/recipes/netlab.sh so that a fresh clone has it; changes here: the server
# binary comes from SWITCHBOARD_BIN, state and logs go where NETLAB_STATE / NETLAB_LOG_DIR say,
# the server logs at RUST_LOG (default info), and `shape` leaves the delay daemon's log in
# NETLAB_LOG_DIR.
#
#   source netlab.sh
#   netlab_up 3                 # sbsrv (10.77.0.1 on bridge br0) + sbc1..sbc3 (10.77.0.2..4)
#   server_start                # switchboard inside sbsrv on 10.77.0.1 (HTTP 7880, UDP 7882)
#   shape sbc2 300kbit 40ms 0   # rate / one-way delay (each direction) / loss % (each direction)
#   block_udp sbc3              # only TCP between sbc3 and the server (silent drop of UDP)
#   flap sbc1 8                 # sbc1's link down for 8 s, then up
#   teardown                    # stops what ran in our namespaces, deletes only our namespaces
#
# Topology: every namespace has lo up and nothing else but its veth; there is no default route
# and IPv6 is off, so no packet can leave 10.77.0.0/24. The server namespace holds the bridge
# br0 (10.77.0.1/24) and, per client, the port end p-<ns> of the client's veth pair; the client
# end is eth0 (10.77.0.N/24) inside the client namespace. The root namespace is never touched.
#
# This kernel has no netem (and no tc gact/police), so:
#   rate  = tbf on eth0 egress in the client ns (upload) and on p-<ns> egress in sbsrv (download);
#   loss  = iptables `statistic` DROP at the receiving end of each direction (client INPUT for
#           download, sbsrv INPUT by source address for upload), silent like netem loss;
#   delay = nfq_delay.py (NFQUEUE, pure Python) in the client ns on OUTPUT to and INPUT from the
#           server: DELAY each way, so the round trip gains 2*DELAY.

NETLAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETLAB_STATE=${NETLAB_STATE:-/tmp/netlab-switchboard.state}     # what this script created: "ns NAME", "pid NS PID", "srv PID DIR"
NETLAB_SRV=sbsrv
NETLAB_NET=10.77.0
NETLAB_SRV_IP=$NETLAB_NET.1
NETLAB_QUEUE_MS=${NETLAB_QUEUE_MS:-200}            # tbf queue (bottleneck buffer) in ms of the rate
NETLAB_BIN=${NETLAB_BIN:-${SWITCHBOARD_BIN:-target/release/switchboard}}
NETLAB_LOG_DIR=${NETLAB_LOG_DIR:-/tmp}
NETLAB_KEY=${NETLAB_KEY:-netlabkey}
NETLAB_SECRET=${NETLAB_SECRET:-netlab-secret-5c1d0e8a4f7b42b69d3e1f0a7c2b9e64}
export NETLAB_KEY NETLAB_SECRET    # shaped.test.js mints tokens with them

_nl_die() { echo "netlab: $*" >&2; return 1; }
_nl_note() { echo "$*" >>"$NETLAB_STATE"; }
_nl_ours() { grep -qx "ns $1" "$NETLAB_STATE" 2>/dev/null; }
_nl_ipt() { local ns=$1; shift; ip netns exec "$ns" iptables -w "$@"; }

netlab_deps() {
  command -v ip >/dev/null && command -v tc >/dev/null || _nl_die "need iproute2" || return 1
  command -v iptables >/dev/null || { apt-get install -y -qq iptables >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq iptables >/dev/null 2>&1; }; } ||
    _nl_die "cannot install iptables"
}

_nl_ns_new() { # NAME: a fresh namespace with lo up, IPv6 off
  local ns=$1
  ip netns list | awk '{print $1}' | grep -qx "$ns" && { _nl_die "namespace $ns already exists (not ours?)"; return 1; }
  ip netns add "$ns" || return 1
  _nl_note "ns $ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
}

# netlab_up N | netlab_up NAME...   server namespace + clients (default names sbc1..sbcN)
netlab_up() {
  netlab_deps || return 1
  [ -s "$NETLAB_STATE" ] && teardown
  : >"$NETLAB_STATE"
  _nl_ns_new $NETLAB_SRV || return 1
  ip -n $NETLAB_SRV link add br0 type bridge
  ip -n $NETLAB_SRV addr add $NETLAB_SRV_IP/24 dev br0
  ip -n $NETLAB_SRV link set br0 up
  local names=("$@")
  if [ $# -eq 1 ] && [[ $1 =~ ^[0-9]+$ ]]; then names=(); for i in $(seq 1 "$1"); do names+=("sbc$i"); done; fi
  local ns; for ns in "${names[@]}"; do add_client "$ns" || return 1; done
}

# add_client NS [LAST_OCTET]
add_client() {
  local ns=$1 n=${2:-}
  [ -n "$n" ] || n=$(( $(grep -c '^ip ' "$NETLAB_STATE") + 2 ))
  _nl_ns_new "$ns" || return 1
  ip -n $NETLAB_SRV link add "p-$ns" type veth peer name eth0 netns "$ns" || return 1
  ip -n $NETLAB_SRV link set "p-$ns" master br0
  ip -n $NETLAB_SRV link set "p-$ns" up
  ip -n "$ns" addr add "$NETLAB_NET.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  _nl_note "ip $ns $NETLAB_NET.$n"
}

client_ip() { awk -v n="$1" '$1=="ip" && $2==n {print $3}' "$NETLAB_STATE"; }

_nl_bits() { # "300kbit" -> bits/s
  local r=${1,,}
  case $r in
    *gbit) echo $(( ${r%gbit} * 1000000000 )) ;; *mbit) echo $(( ${r%mbit} * 1000000 )) ;;
    *kbit) echo $(( ${r%kbit} * 1000 )) ;; *bit) echo "${r%bit}" ;; *) echo "$r" ;;
  esac
}

# shape NS RATE DELAY LOSS   e.g. shape sbc2 300kbit 40ms 1%   (0 or - for "none" in any field)
shape() {
  local ns=$1 rate=${2:-0} delay=${3:-0} loss=${4:-0} ip
  _nl_ours "$ns" || { _nl_die "$ns is not a namespace netlab created"; return 1; }
  ip=$(client_ip "$ns")
  unshape "$ns"
  delay=${delay%ms}; loss=${loss%\%}
  [ "$rate" = - ] && rate=0; [ "$delay" = - ] && delay=0; [ "$loss" = - ] && loss=0
  if [ "$rate" != 0 ]; then
    local bps burst; bps=$(_nl_bits "$rate")
    burst=$(( bps / 8 / 50 )); [ $burst -lt 3200 ] && burst=3200        # >= 2 MTU, ~20 ms of rate
    tc -n "$ns" qdisc add dev eth0 root tbf rate "$bps"bit burst "$burst" latency "${NETLAB_QUEUE_MS}ms" || return 1
    tc -n $NETLAB_SRV qdisc add dev "p-$ns" root tbf rate "$bps"bit burst "$burst" latency "${NETLAB_QUEUE_MS}ms" || return 1
  fi
  _nl_ipt "$ns" -N NL_IN; _nl_ipt "$ns" -A INPUT -s $NETLAB_SRV_IP -j NL_IN
  _nl_ipt "$ns" -N NL_OUT; _nl_ipt "$ns" -A OUTPUT -d $NETLAB_SRV_IP -j NL_OUT
  _nl_ipt $NETLAB_SRV -N "NL_UP_$ns"; _nl_ipt $NETLAB_SRV -A INPUT -s "$ip" -j "NL_UP_$ns"
  if [ "$loss" != 0 ]; then
    local p; p=$(awk -v l="$loss" 'BEGIN{printf "%.4f", l/100}')
    _nl_ipt "$ns" -A NL_IN -m statistic --mode random --probability "$p" -j DROP
    _nl_ipt $NETLAB_SRV -A "NL_UP_$ns" -m statistic --mode random --probability "$p" -j DROP
  fi
  if [ "$delay" != 0 ]; then
    local log=$NETLAB_LOG_DIR/netlab-delay-$ns.log
    ip netns exec "$ns" python3 "$NETLAB_DIR/nfq_delay.py" --queue 7 --delay-ms "$delay" >"$log" 2>&1 &
    local pid=$!; _nl_note "pid $ns $pid"
    for _ in $(seq 1 50); do grep -q '^nfq_delay: queue' "$log" && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    grep -q '^nfq_delay: queue' "$log" || { cat "$log" >&2; _nl_die "delay daemon did not start"; return 1; }
    _nl_ipt "$ns" -A NL_IN -j NFQUEUE --queue-num 7 --queue-bypass
    _nl_ipt "$ns" -A NL_OUT -j NFQUEUE --queue-num 7 --queue-bypass
  fi
  echo "shaped $ns: rate=$rate delay=${delay}ms each way loss=${loss}% each way (queue ${NETLAB_QUEUE_MS}ms)"
}

unshape() {
  local ns=$1 ip; ip=$(client_ip "$ns")
  tc -n "$ns" qdisc del dev eth0 root 2>/dev/null
  tc -n $NETLAB_SRV qdisc del dev "p-$ns" root 2>/dev/null
  _nl_ipt "$ns" -D INPUT -s $NETLAB_SRV_IP -j NL_IN 2>/dev/null; _nl_ipt "$ns" -F NL_IN 2>/dev/null; _nl_ipt "$ns" -X NL_IN 2>/dev/null
  _nl_ipt "$ns" -D OUTPUT -d $NETLAB_SRV_IP -j NL_OUT 2>/dev/null; _nl_ipt "$ns" -F NL_OUT 2>/dev/null; _nl_ipt "$ns" -X NL_OUT 2>/dev/null
  _nl_ipt $NETLAB_SRV -D INPUT -s "$ip" -j "NL_UP_$ns" 2>/dev/null; _nl_ipt $NETLAB_SRV -F "NL_UP_$ns" 2>/dev/null; _nl_ipt $NETLAB_SRV -X "NL_UP_$ns" 2>/dev/null
  local pid; for pid in $(awk -v n="$ns" '$1=="pid" && $2==n {print $3}' "$NETLAB_STATE"); do
    kill "$pid" 2>/dev/null; sed -i "/^pid $ns $pid\$/d" "$NETLAB_STATE"
    # gone before a new delay daemon binds the same queue (it stops within ~0.1 s)
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  return 0
}

# block_udp NS: drop all UDP between NS and the server; TCP still works. Default (NETLAB_BLOCK_MODE=net):
# silent, like a firewall on the path: NS's INPUT drops UDP from the server and the server's INPUT
# drops UDP from NS. NETLAB_BLOCK_MODE=local: NS's OUTPUT drops UDP to the server too (the sender
# then gets EPERM, like a host firewall).
block_udp() {
  local ns=$1 ip; _nl_ours "$ns" || { _nl_die "$ns is not a namespace netlab created"; return 1; }
  ip=$(client_ip "$ns"); unblock_udp "$ns"
  _nl_ipt "$ns" -N NL_UDP; _nl_ipt "$ns" -A NL_UDP -p udp -j DROP
  _nl_ipt "$ns" -I INPUT 1 -s $NETLAB_SRV_IP -j NL_UDP
  _nl_ipt $NETLAB_SRV -I INPUT 1 -s "$ip" -p udp -j DROP
  [ "${NETLAB_BLOCK_MODE:-net}" = local ] && _nl_ipt "$ns" -I OUTPUT 1 -d $NETLAB_SRV_IP -j NL_UDP
  return 0
}
unblock_udp() {
  local ns=$1 ip; ip=$(client_ip "$ns")
  _nl_ipt "$ns" -D OUTPUT -d $NETLAB_SRV_IP -j NL_UDP 2>/dev/null; _nl_ipt "$ns" -D INPUT -s $NETLAB_SRV_IP -j NL_UDP 2>/dev/null
  _nl_ipt $NETLAB_SRV -D INPUT -s "$ip" -p udp -j DROP 2>/dev/null
  _nl_ipt "$ns" -F NL_UDP 2>/dev/null; _nl_ipt "$ns" -X NL_UDP 2>/dev/null; return 0
}

# flap NS SECONDS: NS's eth0 down (carrier lost on both ends, the OS sees it), then up again
flap() {
  local ns=$1 s=$2; _nl_ours "$ns" || { _nl_die "$ns is not a namespace netlab created"; return 1; }
  ip -n "$ns" link set eth0 down
  sleep "$s"
  ip -n "$ns" link set eth0 up
}
# blackhole NS SECONDS: every packet between NS and the server silently dropped, link stays up
blackhole() {
  local ns=$1 s=$2; _nl_ours "$ns" || { _nl_die "$ns is not a namespace netlab created"; return 1; }
  _nl_ipt "$ns" -I INPUT 1 -s $NETLAB_SRV_IP -j DROP; _nl_ipt $NETLAB_SRV -I INPUT 1 -s "$(client_ip "$ns")" -j DROP
  sleep "$s"
  _nl_ipt "$ns" -D INPUT -s $NETLAB_SRV_IP -j DROP; _nl_ipt $NETLAB_SRV -D INPUT -s "$(client_ip "$ns")" -j DROP
}

# server_start [extra switchboard flags]: the server in sbsrv, bounded by NETLAB_SERVER_TIMEOUT (s)
server_start() {
  local dir; mkdir -p "$NETLAB_LOG_DIR"; dir=$(mktemp -d "$NETLAB_LOG_DIR/netlab-sb.XXXX")
  ( cd "$dir" && RUST_LOG=${RUST_LOG:-info} SWITCHBOARD_DRAIN_TIMEOUT_S=${SWITCHBOARD_DRAIN_TIMEOUT_S:-2} exec ip netns exec $NETLAB_SRV timeout "${NETLAB_SERVER_TIMEOUT:-900}" "$NETLAB_BIN" \
      --bind $NETLAB_SRV_IP:7880 --udp-bind $NETLAB_SRV_IP --public-ip $NETLAB_SRV_IP \
      --api-key "$NETLAB_KEY" --api-secret "$NETLAB_SECRET" --store-path :memory: "$@" >"$dir/server.log" 2>&1 ) &
  SB_PID=$!; SB_DIR=$dir; _nl_note "srv $SB_PID $dir"
  for _ in $(seq 1 100); do
    ip netns exec $NETLAB_SRV curl -s -m 1 -o /dev/null "http://$NETLAB_SRV_IP:7880/healthz" && return 0
    kill -0 $SB_PID 2>/dev/null || { tail -5 "$dir/server.log" >&2; return 1; }
    sleep 0.2
  done
  _nl_die "server did not answer"
}
server_stop() {
  local pid dir; read -r pid dir < <(awk '$1=="srv"{print $2, $3}' "$NETLAB_STATE" | tail -1)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null; for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  local p; for p in "$pid" $(ip netns pids $NETLAB_SRV 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  wait "$pid" 2>/dev/null
  sed -i "/^srv $pid /d" "$NETLAB_STATE"
}
# mint ROOM IDENTITY [--admin]: a token signed locally with the lab's key (no network)
mint() { local room=$1 id=$2; shift 2
  "$NETLAB_BIN" token --api-key "$NETLAB_KEY" --api-secret "$NETLAB_SECRET" --room "$room" --identity "$id" "$@" 2>/dev/null | tail -1; }
mint_admin() { "$NETLAB_BIN" token --api-key "$NETLAB_KEY" --api-secret "$NETLAB_SECRET" --admin 2>/dev/null | tail -1; }

# teardown: stop every process this script started and whatever runs inside our namespaces (only
# ours can), then delete only the namespaces listed in the state file
teardown() {
  [ -f "$NETLAB_STATE" ] || return 0
  server_stop
  local pid ns
  for pid in $(awk '$1=="pid"{print $3}' "$NETLAB_STATE"); do kill "$pid" 2>/dev/null; done
  for ns in $(awk '$1=="ns"{print $2}' "$NETLAB_STATE" | tac); do
    ip netns list | awk '{print $1}' | grep -qx "$ns" || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    sleep 0.3
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns"
  done
  rm -f "$NETLAB_STATE"
}
