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
# Debian starts corosync.service on installation, with its example
# configuration.  hasvc writes corosync's configuration itself and the lab
# runs its own corosyncs in namespaces: a corosync that this script just
# installed is stopped and left disabled (an existing one is not touched).
if [[ " ${missing[*]} " == *" corosync "* ]] && command -v systemctl >/dev/null 2>&1 &&
	[[ -d /run/systemd/system ]]; then
	systemctl disable --now corosync.service >/dev/null 2>&1 || true
fi
