#!/usr/bin/env bash
# Install every Debian package that hasvc's build, tests, fuzzing and demo need.
# Idempotent: when everything is present it prints nothing and changes nothing.
set -euo pipefail

PACKAGES=(
	make gcc pkg-config
	clang libclang-rt-14-dev                 # libFuzzer (make fuzz)
	libqb-dev                                # logging + blackbox (later: corosync IPC)
	libxml2-dev libxml2-utils                # local config
	libsqlite3-dev sqlite3                   # pool database
	uuid-dev                                 # UUIDs
	libssl-dev                               # HMAC/TLS
	libjson-c-dev                            # JSON-RPC codec
	libevent-dev                             # event loop + HTTP server (evhttp, bufferevent_openssl)
	libcurl4-openssl-dev                     # the hasvc CLI's HTTPS client
	openssl curl                             # certificates and error-path tests
	nodejs python3                           # real third-party API clients in the tests
	wrk                                      # API benchmark
	libcmocka-dev                            # unit tests
	libxen-dev                               # hv_xen backend (compile-checked)
	corosync                                 # network heartbeat, membership, total order
	libcpg-dev libquorum-dev libvotequorum-dev libcfg-dev libcorosync-common-dev  # its client libraries
	iproute2 nftables jq                     # hasvc-lab: namespaces, veth, partitions, status
	libfuse3-dev fuse3                       # hasvc-lab: hasvc-sffuse, per-host statefile faults
	spin                                     # model check of the liveness protocol (tests/model)
	libsnmp-dev snmp snmptrapd smitools      # SNMP traps (net-snmp), their tests, MIB check (smilint)
	python3-prometheus-client                # a real parser for GET /metrics in the tests
	qemu-system-x86 xen-utils-4.17 busybox-static cpio e2fsprogs bc  # tests/xen: Xen + dom0 in QEMU
	procps psmisc util-linux coreutils       # pgrep, kill, flock, timeout in tests
)

# Commands that some Node.js packagings ship inside another package: Debian's
# nodejs has no npm (it is the npm package), NodeSource's nodejs includes it
# and conflicts with Debian's npm.  Install the package only if the command
# is missing.
COMMANDS=(npm:npm)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done
for c in "${COMMANDS[@]}"; do
	command -v "${c%%:*}" >/dev/null 2>&1 || missing+=("${c#*:}")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "make deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "make deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
	echo "make deps: apt-get install failed; retrying verbosely" >&2
	apt-get install -y --no-install-recommends "${missing[@]}"
}
# Debian starts some daemons on installation: corosync with its example
# configuration, snmptrapd on UDP 162, Xen's tool daemons (which fail without
# Xen).  hasvc writes corosync's configuration itself, and the lab and the
# tests run their own corosyncs and snmptrapds in namespaces: a daemon that
# this script just installed is stopped and left disabled (an existing one is
# not touched).
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
	for unit in corosync:corosync snmptrapd:snmptrapd xen-utils-4.17:xen; do
		[[ " ${missing[*]} " == *" ${unit%%:*} "* ]] || continue
		systemctl disable --now "${unit#*:}.service" >/dev/null 2>&1 || true
	done
	[[ " ${missing[*]} " == *" xen-utils-4.17 "* ]] &&
		systemctl disable --now xendomains.service xenstored.service xenconsoled.service \
			xen-init-dom0.service xen-watchdog.service >/dev/null 2>&1 || true
fi
