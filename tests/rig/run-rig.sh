#!/bin/bash
# The real-stack rig: real FTP servers and clients in network namespaces behind a Linux router
# (nftables masquerade / DNAT, the kernel's FTP conntrack helper on or off), each cell compared
# with the matching ftpsim scenario (scenarios/rig/<cell>.yaml; a cell still waiting for a model
# piece: tests/rig/pending/<cell>.yaml, analyse.py PENDING). See docs/fidelity.md.
#
#   tests/rig/run-rig.sh --ftpsim build/app/ftpsim [--report docs/fidelity.md] [--work DIR]
#                        [--only REGEX] [--scenarios DIR] [--pending DIR] [--no-sim]
#
# Exit: 0 every cell agrees (or differs in a way listed in ACCEPTED below, or is pending), 1 a
# disagreement,
# 2 bad usage or a broken rig, 77 skipped (not root, no netns, a tool missing).
#
# Topology (addresses as in shared/captures):
#   cli  192.168.1.10/24 --- lan1 192.168.1.1  [rtr]  wan 203.0.113.1/24 --- pub 203.0.113.10/24
#   srv  192.168.2.10/24 --- lan2 192.168.2.1  [rtr]        (pub has no default route)
# Situations: cnat    client cli -> server pub 203.0.113.10 (client behind masquerade)
#             snat21  client pub -> 203.0.113.1:21, DNAT to srv (only 21 forwarded)
#             snatfwd the same, 21 and 30000-30009 forwarded
# IPv6 (every namespace is dual-stack; no NAT in IPv6; DAD off, so addresses work at once):
#   cli  2001:db8:1::10/64 --- lan1 2001:db8:1::1  [rtr]  wan 2001:db8:ff::1/64 --- pub 2001:db8:ff::10/64
#   srv  2001:db8:2::10/64 --- lan2 2001:db8:2::1
#             v6fwc   client cli -> server pub 2001:db8:ff::10; the router's nftables inet forward
#                     chain is a stateful firewall for the client's LAN (new connections only out of lan1)
#             v6fws   client pub -> server srv 2001:db8:2::10; the firewall admits new connections
#                     only to srv port 21 (and out of lan2)
#             nat64   IPv6-only client cli (no IPv4 route) -> 2001:db8:64::203.0.113.10, the
#                     IPv4-only server pub: tayga on the router (tun nat64, network-specific prefix
#                     2001:db8:64::/96, pool 192.168.255.0/24) and the router's masquerade to
#                     203.0.113.1; no ALG. (Not the well-known 64:ff9b::/96: tayga, as RFC 6052 3.1
#                     says, refuses it for non-global IPv4 such as 203.0.113.0/24, with an ICMPv6
#                     unreachable.)
# Variant tokens (the cell name's tail, '-'-joined) change one thing each: the server's config
# (pasvaddr, promisc, promisc20, l2121 = listen_port 2121, ctimeout = connect_timeout 2), the
# router's INPUT chain (drop, reset, icmp), the client's own firewall (cfw), the client's
# timeouts/retries (maxtime, retry, noauto). Every client run is bounded by timeout(1).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3

FTPSIM=""; REPORT=""; WORK=""; ONLY=""; SCEN_DIR="$SRC/scenarios/rig"; PENDING_DIR="$HERE/pending"; NO_SIM=0
while [ $# -gt 0 ]; do
  case "$1" in
    --ftpsim) FTPSIM=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --scenarios) SCEN_DIR=$2; shift 2 ;;
    --pending) PENDING_DIR=$2; shift 2 ;;
    --no-sim) NO_SIM=1; shift ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "run-rig.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# Accepted, explained differences: cell regex <TAB> field <TAB> reason. Keep it short and honest;
# every line must name the real behaviour the model leaves out. (Read by analyse.py.)
ACCEPTED=$(cat <<'EOF'
-promisc20$	reply-codes	vsftpd's dying session writes "500 OOPS: vsf_sysutil_bind" and its privileged helper may or may not get "500 OOPS: priv_sock_get_cmd" out before the connection closes (a race in the real server: runs show one or two 500 lines); the model always sends both. Result and failure kind agree.
EOF
)

skip() { echo "rig: SKIP: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for t in ip vsftpd curl lftp nft tcpdump conntrack ss timeout; do
  command -v $t >/dev/null 2>&1 || skip "$t is not installed"
done
[ -x $PY ] || skip "$PY missing"
$PY -c 'import pyftpdlib' 2>/dev/null || skip "python3-pyftpdlib missing"
if [ $NO_SIM = 0 ]; then
  [ -n "$FTPSIM" ] && [ -x "$FTPSIM" ] || { echo "rig: --ftpsim PATH (an executable) is required" >&2; exit 2; }
  FTPSIM=$(readlink -f "$FTPSIM")
fi

# Namespace names are unique per run, so concurrent runs (other engineers) do not collide.
TAG="rg$$"
# A run killed with SIGKILL (a ctest timeout) cannot clean up: remove what such a run left, i.e.
# namespaces named rg<PID>-* whose PID is no longer a run-rig.sh.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^rg[0-9]+-(cli|rtr|srv|pub)$'); do
  pid=${ns#rg}; pid=${pid%%-*}
  if ! grep -qs run-rig "/proc/$pid/cmdline"; then
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null && echo "rig: removed stale namespace $ns" >&2
  fi
done
NS_CLI=$TAG-cli; NS_RTR=$TAG-rtr; NS_SRV=$TAG-srv; NS_PUB=$TAG-pub
ip netns add $TAG-probe 2>/dev/null || skip "ip netns add failed (no netns support)"
ip netns del $TAG-probe

[ -n "$WORK" ] || WORK=$(mktemp -d /tmp/ftpsim-rig.XXXXXX)
mkdir -p "$WORK" && WORK=$(readlink -f "$WORK")
rm -rf "$WORK/cells" "$WORK/sim" "$WORK/pcap"; mkdir -p "$WORK/cells" "$WORK/sim" "$WORK/pcap" "$WORK/root"
: > "$WORK/cells.tsv"
echo "$ACCEPTED" > "$WORK/accepted.tsv"
START=$(date +%s.%N)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for ns in $NS_CLI $NS_PUB $NS_SRV $NS_RTR; do
    if ip netns list | grep -qw "$ns"; then
      ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null
    fi
  done
  sleep 0.3
  for ns in $NS_CLI $NS_PUB $NS_SRV $NS_RTR; do
    if ip netns list | grep -qw "$ns"; then
      ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null
      ip netns del $ns 2>/dev/null
    fi
  done
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
die() { echo "rig: $*" >&2; exit 2; }

# ---- namespaces and links ------------------------------------------------------------------
for ns in $NS_CLI $NS_RTR $NS_SRV $NS_PUB; do ip netns add $ns || die "netns $ns"; done
ip link add lan1 netns $NS_RTR type veth peer name eth0 netns $NS_CLI || die "veth lan1"
ip link add lan2 netns $NS_RTR type veth peer name eth0 netns $NS_SRV || die "veth lan2"
ip link add wan netns $NS_RTR type veth peer name eth0 netns $NS_PUB || die "veth wan"
for ns in $NS_CLI $NS_RTR $NS_SRV $NS_PUB; do in_ns $ns ip link set lo up; done
in_ns $NS_RTR ip addr add 192.168.1.1/24 dev lan1
in_ns $NS_RTR ip addr add 192.168.2.1/24 dev lan2
in_ns $NS_RTR ip addr add 203.0.113.1/24 dev wan
for i in lan1 lan2 wan; do in_ns $NS_RTR ip link set $i up; in_ns $NS_RTR ethtool -K $i tso off gso off gro off >/dev/null 2>&1; done
in_ns $NS_CLI ip addr add 192.168.1.10/24 dev eth0
in_ns $NS_SRV ip addr add 192.168.2.10/24 dev eth0
in_ns $NS_PUB ip addr add 203.0.113.10/24 dev eth0
for ns in $NS_CLI $NS_SRV $NS_PUB; do
  in_ns $ns ip link set eth0 up
  in_ns $ns ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1
done
in_ns $NS_CLI ip route add default via 192.168.1.1
in_ns $NS_SRV ip route add default via 192.168.2.1
# the public host: no default route, so it cannot reach 192.168.0.0/16 at all
in_ns $NS_RTR sysctl -qw net.ipv4.ip_forward=1
# IPv6: global addresses without duplicate address detection (usable at once), routed, no NAT
in_ns $NS_RTR sysctl -qw net.ipv6.conf.all.forwarding=1
in_ns $NS_RTR ip -6 addr add 2001:db8:1::1/64 dev lan1 nodad
in_ns $NS_RTR ip -6 addr add 2001:db8:2::1/64 dev lan2 nodad
in_ns $NS_RTR ip -6 addr add 2001:db8:ff::1/64 dev wan nodad
in_ns $NS_CLI ip -6 addr add 2001:db8:1::10/64 dev eth0 nodad
in_ns $NS_SRV ip -6 addr add 2001:db8:2::10/64 dev eth0 nodad
in_ns $NS_PUB ip -6 addr add 2001:db8:ff::10/64 dev eth0 nodad
in_ns $NS_CLI ip -6 route add default via 2001:db8:1::1
in_ns $NS_SRV ip -6 route add default via 2001:db8:2::1
in_ns $NS_PUB ip -6 route add default via 2001:db8:ff::1
# NAT64 (the nat64 cells): tayga translates 2001:db8:64::/96 <-> IPv4, mapping each IPv6 client to an
# address of its pool 192.168.255.0/24, which the router masquerades to 203.0.113.1 (stateful
# NAT64 as RFC 6146 describes it, built the usual Linux way). Started once, if a nat64 cell runs.
start_tayga() {
  local d="$WORK/tayga"
  mkdir -p "$d/data"
  cat > "$d/tayga.conf" <<EOF
tun-device nat64
ipv4-addr 192.168.255.1
prefix 2001:db8:64::/96
dynamic-pool 192.168.255.0/24
data-dir $d/data
EOF
  in_ns $NS_RTR tayga -c "$d/tayga.conf" --mktun >"$d/mktun.log" 2>&1 || die "tayga --mktun (needs /dev/net/tun): $(cat "$d/mktun.log")"
  in_ns $NS_RTR ip link set nat64 up
  in_ns $NS_RTR ip route add 192.168.255.0/24 dev nat64
  in_ns $NS_RTR ip -6 route add 2001:db8:64::/96 dev nat64
  in_ns $NS_RTR tayga -c "$d/tayga.conf" --nodetach >"$d/tayga.log" 2>&1 &
  sleep 0.2
}

# ---- router configuration: nftables NAT, DNAT, the FTP helper ------------------------------
router() {  # router TOPO HELPER(on|off) [VARIANT]
  local topo=$1 helper=$2 variant=${3:-} dnat="" hrule="" input="policy accept;" cp
  cp=$(ctl_port "$variant")
  case $topo in
    snat21) dnat="iifname \"wan\" ip daddr 203.0.113.1 tcp dport $cp dnat to 192.168.2.10:$cp" ;;
    snatfwd) dnat="iifname \"wan\" ip daddr 203.0.113.1 tcp dport $cp dnat to 192.168.2.10:$cp
    iifname \"wan\" ip daddr 203.0.113.1 tcp dport 30000-30009 dnat to 192.168.2.10" ;;
  esac
  [ "$helper" = on ] && hrule="tcp dport $cp ct helper set \"ftp-std\""
  # the router's own INPUT (connections addressed to the router that nothing forwards)
  has "$variant" drop && input="policy drop;"
  has "$variant" reset && input="policy accept; meta l4proto tcp reject with tcp reset"
  has "$variant" icmp && input="policy accept; reject with icmp type port-unreachable"
  # the IPv6-only client of the nat64 cells has no IPv4 route; every other cell's client has one
  in_ns $NS_CLI ip -4 route del default >/dev/null 2>&1
  [ $topo = nat64 ] || in_ns $NS_CLI ip -4 route add default via 192.168.1.1
  case $topo in
    v6fwc|v6fws) router6 $topo $helper "$cp" ;;
    nat64) in_ns $NS_RTR nft -f - <<EOF || die "nft nat64"
flush ruleset
table ip rig {
  chain postnat {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr 192.168.255.0/24 masquerade
  }
}
EOF
    ;;
    *) in_ns $NS_RTR nft -f - <<EOF || die "nft"
flush ruleset
table ip rig {
  ct helper ftp-std { type "ftp" protocol tcp; }
  chain helpers {
    type filter hook prerouting priority filter; policy accept;
    $hrule
  }
  chain prenat {
    type nat hook prerouting priority dstnat; policy accept;
    $dnat
  }
  chain input {
    type filter hook input priority filter; $input
  }
  chain postnat {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr { 192.168.1.0/24, 192.168.2.0/24 } masquerade
  }
}
EOF
    ;;
  esac
  # the client's own firewall (variant cfw): only replies and connections it opened come in
  local cns
  for cns in $NS_CLI $NS_PUB; do in_ns $cns nft flush ruleset; done
  if has "$variant" cfw; then
    if [ $topo = cnat ]; then cns=$NS_CLI; else cns=$NS_PUB; fi
    in_ns $cns nft -f - <<EOF || die "nft client"
table ip cfw {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
  }
}
EOF
  fi
  in_ns $NS_RTR conntrack -F >/dev/null 2>&1
  in_ns $NS_RTR conntrack -F expect >/dev/null 2>&1
  return 0
}
# The IPv6 firewall (an nftables inet table, the stateful filter of a home router): forward policy
# drop, replies and related connections (the helper's expectations) accepted, new connections only
# out of the client's LAN (v6fwc) or only to the server's port 21 (v6fws). The helper: the same
# `ct helper set` as for IPv4, its object with `l3proto inet` (both families). Measured with
# nftables 1.0.6: the object without l3proto, and an `ip6` table instead of `inet`, give the same
# cells (nf_conntrack_ftp opens IPv6 expectations for EPRT |2| and 229 either way).
router6() {  # router6 TOPO HELPER CTLPORT
  local topo=$1 helper=$2 cp=$3 hrule="" allow
  [ "$helper" = on ] && hrule="tcp dport $cp ct helper set \"ftp-std\""
  case $topo in
    v6fwc) allow="iifname \"lan1\" accept" ;;
    v6fws) allow="oifname \"lan2\" ip6 daddr 2001:db8:2::10 tcp dport $cp accept
    iifname \"lan2\" accept" ;;
  esac
  in_ns $NS_RTR nft -f - <<EOF || die "nft inet"
flush ruleset
table inet rig6 {
  ct helper ftp-std { type "ftp" protocol tcp; l3proto inet; }
  chain helpers {
    type filter hook prerouting priority filter; policy accept;
    $hrule
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    $allow
  }
}
EOF
}
# A variant is a '-'-joined list of tokens (pasvaddr-drop, ...); has VARIANT TOKEN.
has() { [[ "-$1-" == *"-$2-"* ]]; }
ctl_port() { if has "$1" l2121; then echo 2121; else echo 21; fi; }

# ---- captures on the router's three sides, for the whole run --------------------------------
for i in lan1 lan2 wan; do
  in_ns $NS_RTR tcpdump -i $i -n -U -s 0 -Z root -w "$WORK/pcap/$i.pcap" tcp or icmp or icmp6 2>"$WORK/pcap/$i.log" &
done
for _ in $(seq 50); do
  [ "$(grep -l 'listening on' "$WORK"/pcap/*.log 2>/dev/null | wc -l)" = 3 ] && break; sleep 0.1
done
[ "$(grep -l 'listening on' "$WORK"/pcap/*.log 2>/dev/null | wc -l)" = 3 ] || die "tcpdump did not start"

# ---- servers -------------------------------------------------------------------------------
FILE_SIZE=65536
install -d -m 755 "$WORK/root/ftp"
head -c $FILE_SIZE /dev/urandom > "$WORK/root/ftp/file.bin"; chmod 644 "$WORK/root/ftp/file.bin"
chmod 755 "$WORK" "$WORK/root"

vsftpd_conf() {  # vsftpd_conf ADDR EXTRA... -> path
  local addr=$1; shift
  local f="$WORK/root/vsftpd-$addr.conf" listen
  # an IPv6 address: listen_ipv6=YES (vsftpd's listen and listen_ipv6 exclude each other)
  case $addr in
    *:*) listen="listen=NO
listen_ipv6=YES
listen_address6=$addr" ;;
    *) listen="listen=YES
listen_ipv6=NO
listen_address=$addr" ;;
  esac
  cat > "$f" <<EOF
$listen
background=NO
seccomp_sandbox=NO
anonymous_enable=YES
local_enable=NO
write_enable=NO
no_anon_password=YES
anon_root=$WORK/root/ftp
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30009
connect_from_port_20=YES
dirmessage_enable=NO
xferlog_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
ssl_enable=NO
EOF
  for x in "$@"; do echo "$x" >> "$f"; done
  echo "$f"
}

wait_listen() {  # wait_listen NS ADDR [PORT]
  local port=${3:-21} a=$2
  [[ $a == *:* ]] && a="[$a]"
  for _ in $(seq 60); do
    in_ns $1 ss -Hltn "src $a:$port" 2>/dev/null | grep -q . && return 0; sleep 0.1
  done
  die "no server listening on $2:$port in $1"
}
stop_servers() {
  for ns in $NS_PUB $NS_SRV; do ip netns pids $ns | xargs -r kill 2>/dev/null; done
  for _ in $(seq 30); do
    [ -z "$(ip netns pids $NS_PUB)$(ip netns pids $NS_SRV)" ] && return 0; sleep 0.1
  done
  for ns in $NS_PUB $NS_SRV; do ip netns pids $ns | xargs -r kill -9 2>/dev/null; done
}
start_servers() {  # start_servers PHASE
  stop_servers
  local pub_extra=() srv_extra=() port=21 pub=203.0.113.10 srv=192.168.2.10
  case $1 in
    # IPv6 servers (listen_ipv6=YES; vsftpd: connect_timeout=2, so an active data connection the
    # firewall drops ends in "425" before the clients' own 3 s timeouts)
    vsftpd6) pub_extra=(connect_timeout=2); srv_extra=(connect_timeout=2) ;;
    pyftpdlib6) ;;
    # listen_port=2121: vsftpd still connects from ftp_data_port (20) in active mode
    vsftpd-2121) pub_extra=(listen_port=2121); srv_extra=(listen_port=2121); port=2121 ;;
    # connect_timeout: how long an active data connect may take before "425 Failed to establish"
    vsftpd-ctimeout) pub_extra=(connect_timeout=2); srv_extra=(connect_timeout=2) ;;
    vsftpd) ;;
    vsftpd-pasvaddr) srv_extra=(pasv_address=203.0.113.1) ;;
    vsftpd-promisc) pub_extra=(port_promiscuous=YES connect_from_port_20=NO); srv_extra=("${pub_extra[@]}") ;;
    vsftpd-promisc20) pub_extra=(port_promiscuous=YES); srv_extra=(port_promiscuous=YES) ;;
    pyftpdlib) ;;
  esac
  case $1 in *6) pub=2001:db8:ff::10; srv=2001:db8:2::10 ;; esac
  if [ "${1%6}" = pyftpdlib ]; then
    for pair in "$NS_PUB $pub" "$NS_SRV $srv"; do
      set -- $pair
      (cd "$WORK/root/ftp" && exec ip netns exec $1 $PY -m pyftpdlib -i $2 -p 21 -d "$WORK/root/ftp" -r 30000-30009 \
        >"$WORK/root/pyftpdlib-$2.log" 2>&1) &
    done
  else
    ip netns exec $NS_PUB vsftpd "$(vsftpd_conf $pub "${pub_extra[@]}")" >"$WORK/root/vsftpd-pub.log" 2>&1 &
    ip netns exec $NS_SRV vsftpd "$(vsftpd_conf $srv "${srv_extra[@]}")" >"$WORK/root/vsftpd-srv.log" 2>&1 &
  fi
  wait_listen $NS_PUB $pub $port
  wait_listen $NS_SRV $srv $port
}

# ---- clients -------------------------------------------------------------------------------
# Client options. Every cell: curl --connect-timeout 3 --max-time 5, lftp net:timeout 3
# net:max-retries 1 (no retry) net:reconnect-interval-base 1, ftplib timeout=3. Variant tokens:
# maxtime = curl --connect-timeout 10 --max-time 4 (the overall limit comes first);
# retry = lftp net:max-retries 3 (two retries); noauto = lftp ftp:auto-passive-mode off.
# bound_of VARIANT: the wall-clock bound of the client (timeout(1)), above any of these.
bound_of() { if has "$1" retry; then echo 25; else echo 8; fi; }
run_client() {  # run_client NS CLIENT MODE HOST OUT LOG VARIANT -> exit status
  local ns=$1 client=$2 mode=$3 host=$4 out=$5 log=$6 variant=$7 port bound
  port=$(ctl_port "$variant"); bound=$(bound_of "$variant")
  local uhost=$host
  [[ $host == *:* ]] && uhost="[$host]"   # an IPv6 literal in a URL
  case $client in
    curl)
      local m=() t=(--max-time 5 --connect-timeout 3)
      case $mode in
        port) m=(--ftp-port - --disable-eprt) ;; eprt) m=(--ftp-port -) ;;
        pasv) m=(--ftp-pasv --disable-epsv) ;; epsv) m=(--ftp-pasv) ;;
      esac
      has "$variant" maxtime && t=(--max-time 4 --connect-timeout 10)
      timeout -k 1 $bound ip netns exec $ns curl -sS -v "${t[@]}" "${m[@]}" \
        -o "$out" "ftp://$uhost:$port/file.bin" >"$log" 2>&1 ;;
    lftp)
      local pm=on epsv=no retries=1 auto=yes
      case $mode in port) pm=off ;; epsv) epsv=yes ;; esac
      has "$variant" retry && retries=3
      has "$variant" noauto && auto=no
      timeout -k 1 $bound ip netns exec $ns lftp -d -c "set net:timeout 3; set net:max-retries $retries; \
set net:reconnect-interval-base 1; set ftp:passive-mode $pm; set ftp:auto-passive-mode $auto; \
set ftp:prefer-epsv $epsv; set ftp:ssl-allow no; set cmd:fail-exit yes; set xfer:clobber on; \
open ftp://$uhost:$port; get file.bin -o $out" >"$log" 2>&1 ;;
    textbook)
      # no real client sends PASV or PORT on IPv6 (curl, lftp and ftplib send EPSV and EPRT |2|
      # there, whatever their mode): this scripted one does, as the simulator's "textbook"
      # profile: USER (PASS), TYPE I, PASV, trusting the 227 address, RETR, QUIT. Exit 3: its
      # data connection could not start (network unreachable); 4: refused; 5: timed out (the data
      # connection, or a reply that never came);
      # 6: a negative reply; 7: a 227 without the six numbers.
      timeout -k 1 $bound ip netns exec $ns $PY - "$host" "$mode" "$out" "$port" >"$log" 2>&1 <<'EOF' ;;
import errno, ftplib, socket, sys
host, mode, out, port = sys.argv[1:5]
with ftplib.FTP(timeout=3) as ftp:
    ftp.set_debuglevel(2)
    ftp.connect(host, int(port))
    try:
        ftp.login(passwd="guest@")
        ftp.voidcmd("TYPE I")
        h, p = ftplib.parse227(ftp.sendcmd("PASV"))
    except TimeoutError as e:
        print("no reply:", e); sys.exit(5)
    except ftplib.error_proto as e:
        print("227 not understood:", e); sys.exit(7)
    except ftplib.Error as e:
        print("negative reply:", e); sys.exit(6)
    try:
        data = socket.create_connection((h, p), timeout=3)
    except OSError as e:
        print("data connection to %s:%d: %s" % (h, p, e))
        ftp.quit()
        sys.exit({errno.ENETUNREACH: 3, errno.EHOSTUNREACH: 3, errno.ECONNREFUSED: 4}.get(e.errno, 5))
    ftp.sendcmd("RETR file.bin")
    with open(out, "wb") as f, data:
        while True:
            b = data.recv(65536)
            if not b:
                break
            f.write(b)
    ftp.voidresp()
    ftp.quit()
EOF
    ftplib)
      timeout -k 1 $bound ip netns exec $ns $PY - "$host" "$mode" "$out" "$port" >"$log" 2>&1 <<'EOF' ;;
import ftplib, sys
host, mode, out, port = sys.argv[1:5]
with ftplib.FTP(timeout=3) as ftp:
    ftp.set_debuglevel(2)
    ftp.connect(host, int(port))
    ftp.login()
    ftp.set_pasv(mode != "port")
    with open(out, "wb") as f:
        ftp.retrbinary("RETR file.bin", f.write)
EOF
  esac
}

NCELLS=0
cell() {  # cell PHASE SERVER CLIENT TOPO HELPER MODE [VARIANT]
  local phase=$1 server=$2 client=$3 topo=$4 helper=$5 mode=$6 variant=${7:-}
  local id; id=$(cell_id "$@")
  local ns host
  case $topo in
    cnat) ns=$NS_CLI; host=203.0.113.10 ;;
    snat21|snatfwd) ns=$NS_PUB; host=203.0.113.1 ;;
    v6fwc) ns=$NS_CLI; host=2001:db8:ff::10 ;;
    v6fws) ns=$NS_PUB; host=2001:db8:2::10 ;;
    nat64) ns=$NS_CLI; host=2001:db8:64::cb00:710a ;;   # 2001:db8:64::203.0.113.10 (RFC 6052)
  esac
  router $topo $helper "$variant"
  local out="$WORK/cells/$id.out" log="$WORK/cells/$id.log"
  rm -f "$out"
  local t0 t1 c0 rc size
  sleep 0.05
  t0=$(date +%s.%N)
  run_client $ns $client $mode $host "$out" "$log" "$variant"; rc=$?
  sleep 0.15
  t1=$(date +%s.%N)
  size=$(stat -c %s "$out" 2>/dev/null || echo -1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$phase" "$server" "$client" "$topo" \
    "$helper" "$mode" "$variant" "$t0" "$t1" "$rc" "$size" >> "$WORK/cells.tsv"
  NCELLS=$((NCELLS + 1))
  printf 'rig: %-44s exit %-3s %6s bytes %5.2fs\n' "$id" "$rc" "$size" "$(awk "BEGIN{print $t1 - $t0}")" >&2
}

# Variants: pasvaddr = pasv_address=203.0.113.1 on the server behind the router; promisc =
# port_promiscuous=YES with connect_from_port_20=NO; promisc20 = port_promiscuous=YES with
# connect_from_port_20=YES.
# ---- the matrix ----------------------------------------------------------------------------
# One line per cell: PHASE SERVER CLIENT TOPO HELPER MODE [VARIANT]. A phase is one server
# configuration, started once for all its cells.
plan() {
  local topo helper mode
  for topo in cnat snat21 snatfwd; do for helper in off on; do
    for mode in port eprt pasv epsv; do echo "vsftpd vsftpd curl $topo $helper $mode"; done
    for mode in port pasv epsv; do echo "vsftpd vsftpd lftp $topo $helper $mode"; done    # lftp: EPRT only on IPv6
    for mode in port pasv; do echo "vsftpd vsftpd ftplib $topo $helper $mode"; done      # ftplib: EPSV/EPRT only on IPv6
  done; done
  for topo in snat21 snatfwd; do for helper in off on; do
    for mode in pasv epsv; do echo "vsftpd-pasvaddr vsftpd curl $topo $helper $mode pasvaddr"; done
    for mode in pasv epsv; do echo "vsftpd-pasvaddr vsftpd lftp $topo $helper $mode pasvaddr"; done
  done; done
  for helper in off on; do
    for mode in port eprt; do echo "vsftpd-promisc vsftpd curl cnat $helper $mode promisc"; done
    echo "vsftpd-promisc vsftpd lftp cnat $helper port promisc"
  done
  # port_promiscuous=YES together with connect_from_port_20=YES (Debian's default)
  echo "vsftpd-promisc20 vsftpd curl cnat on port promisc20"
  for topo in cnat snat21 snatfwd; do for helper in off on; do
    for mode in port eprt pasv epsv; do echo "pyftpdlib pyftpdlib curl $topo $helper $mode"; done
  done; done
  # ---- ports, timeouts, router policies, client timeouts and retries (issue 15 item 10) ----
  # vsftpd listen_port=2121, active mode: the data connection comes from ftp_data_port (20); the
  # helper is attached to tcp dport 2121 (cnat), or 2121 is forwarded (snat21: masquerade of 20)
  echo "vsftpd-2121 vsftpd curl cnat on port l2121"
  echo "vsftpd-2121 vsftpd lftp cnat on port l2121"
  echo "vsftpd-2121 vsftpd curl snat21 off port l2121"
  # vsftpd connect_timeout=2 against a client whose own firewall drops the data connection
  echo "vsftpd-ctimeout vsftpd curl snat21 off port ctimeout-cfw"
  echo "vsftpd-ctimeout vsftpd ftplib snat21 off port ctimeout-cfw"
  # the router's INPUT for an unforwarded passive port: policy drop, reject with tcp reset,
  # reject (icmp port-unreachable); policy accept is the pasvaddr cells above
  for pol in drop reset icmp; do
    for c in curl lftp ftplib; do echo "vsftpd-pasvaddr vsftpd $c snat21 off pasv pasvaddr-$pol"; done
    echo "vsftpd-pasvaddr vsftpd curl snat21 off epsv pasvaddr-$pol"
  done
  # client timeouts: curl's overall --max-time before its --connect-timeout
  echo "vsftpd-pasvaddr vsftpd curl snat21 off pasv pasvaddr-drop-maxtime"
  # lftp retries (a new control connection each) and ftp:auto-passive-mode
  echo "vsftpd vsftpd lftp cnat off port retry"
  echo "vsftpd vsftpd lftp cnat off port retry-noauto"
  echo "vsftpd vsftpd lftp snat21 off pasv retry"
  echo "vsftpd-pasvaddr vsftpd lftp snat21 off pasv pasvaddr-drop-retry"
  # ---- IPv6 and NAT64 (issue 19 item 6) ----
  # every client's active and passive mode on IPv6 (EPRT |2| and EPSV whatever the mode). curl's
  # port/pasv (--disable-eprt/--disable-epsv, ignored on IPv6) and lftp's pasv (ftp:prefer-epsv
  # no) send what eprt/epsv send: they run where they pass, not again where they wait for a timeout
  for topo in v6fwc v6fws; do for helper in off on; do
    modes="eprt epsv"; [ $helper = on ] && modes="port eprt pasv epsv"
    for mode in $modes; do echo "vsftpd6 vsftpd curl $topo $helper $mode"; done
    modes="port epsv"; [ $helper = on ] && modes="port pasv epsv"
    for mode in $modes; do echo "vsftpd6 vsftpd lftp $topo $helper $mode"; done
    for mode in port pasv; do echo "vsftpd6 vsftpd ftplib $topo $helper $mode"; done
    for mode in eprt epsv; do echo "pyftpdlib6 pyftpdlib curl $topo $helper $mode"; done
  done; done
  # NAT64 without an ALG: an IPv6-only client, an IPv4-only server
  for mode in eprt pasv epsv; do echo "vsftpd vsftpd curl nat64 off $mode"; done
  for mode in port pasv epsv; do echo "vsftpd vsftpd lftp nat64 off $mode"; done
  for mode in port pasv; do echo "vsftpd vsftpd ftplib nat64 off $mode"; done
  for mode in eprt epsv; do echo "pyftpdlib pyftpdlib curl nat64 off $mode"; done
  # PASV sent literally on IPv6 (a scripted client: no real client does), on the IPv6 servers and
  # through NAT64
  for helper in off on; do
    echo "vsftpd6 vsftpd textbook v6fws $helper pasv"; echo "pyftpdlib6 pyftpdlib textbook v6fws $helper pasv"
  done
  echo "vsftpd vsftpd textbook nat64 off pasv"; echo "pyftpdlib pyftpdlib textbook nat64 off pasv"
}
cell_id() { echo "$3-$2-$4-$5-$6${7:+-$7}"; }
PLAN=()
while read -r line; do
  # shellcheck disable=SC2086
  id=$(cell_id $line)
  if [ -z "$ONLY" ] || [[ $id =~ $ONLY ]]; then PLAN+=("$line"); fi
done < <(plan)
[ ${#PLAN[@]} -gt 0 ] || die "no cell matched --only '$ONLY'"

# tayga only when a nat64 cell runs; without tayga or /dev/net/tun the nat64 cells are left out
# (said on stderr and in the report's cell count), the others run
for line in "${PLAN[@]}"; do
  set -- $line
  if [ "$4" = nat64 ]; then
    why=""
    command -v tayga >/dev/null 2>&1 || why="tayga is not installed (tools/install-deps.sh --test)"
    [ -z "$why" ] && [ ! -c /dev/net/tun ] && why="/dev/net/tun is missing"
    if [ -n "$why" ]; then
      echo "rig: WARNING: leaving out the nat64 cells: $why" >&2
      KEEP=(); for l in "${PLAN[@]}"; do set -- $l; [ "$4" = nat64 ] || KEEP+=("$l"); done; PLAN=("${KEEP[@]}")
    else
      start_tayga
    fi
    break
  fi
done

T_REAL0=$(date +%s.%N)
for phase in vsftpd vsftpd-pasvaddr vsftpd-promisc vsftpd-promisc20 pyftpdlib vsftpd-2121 vsftpd-ctimeout \
             vsftpd6 pyftpdlib6; do
  started=0
  for line in "${PLAN[@]}"; do
    set -- $line
    [ "$1" = "$phase" ] || continue
    [ $started = 1 ] || { start_servers $phase; started=1; }
    cell "$@"
  done
done
stop_servers
T_REAL1=$(date +%s.%N)

# stop the captures (SIGINT flushes) before reading them; give the last packets time to arrive
sleep 1
ip netns pids $NS_RTR | xargs -r kill -INT 2>/dev/null
sleep 0.5


# ---- the simulator: one scenario per cell --------------------------------------------------
T_SIM0=$(date +%s.%N)
if [ $NO_SIM = 0 ]; then
  mkdir -p "$SCEN_DIR" "$PENDING_DIR"
  $PY "$HERE/analyse.py" scenarios --work "$WORK" --out "$SCEN_DIR" --pending-out "$PENDING_DIR" \
    || die "scenario generation failed"
  # a pending cell's scenario is in $PENDING_DIR (analyse.py PENDING), the others in $SCEN_DIR
  cut -f1 "$WORK/cells.tsv" | xargs -P 2 -I{} sh -c \
    'f="$1/{}.yaml"; [ -f "$f" ] || f="$3/{}.yaml"
     "$0" run "$f" --export "$2/sim/{}.json" -q >"$2/sim/{}.txt" 2>&1; echo $? > "$2/sim/{}.rc"' \
    "$FTPSIM" "$SCEN_DIR" "$WORK" "$PENDING_DIR"
fi
T_SIM1=$(date +%s.%N)

printf 'real\t%s\t%s\nsim\t%s\t%s\nstart\t%s\t%s\n' "$T_REAL0" "$T_REAL1" "$T_SIM0" "$T_SIM1" "$START" "$(date +%s.%N)" \
  > "$WORK/timings.tsv"
ARGS=(report --work "$WORK" --cmdline "tests/rig/run-rig.sh ${ONLY:+--only '$ONLY'}")
[ -n "$REPORT" ] && ARGS+=(--report "$REPORT")
[ $NO_SIM = 1 ] && ARGS+=(--no-sim)
$PY "$HERE/analyse.py" "${ARGS[@]}"
rc=$?
echo "rig: work files in $WORK" >&2
exit $rc
