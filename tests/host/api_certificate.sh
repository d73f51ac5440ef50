#!/usr/bin/env bash
# The API certificate: generated on first start (SAN = host address and name),
# replaced by an admin through host.install_server_certificate (CLI
# host-server-certificate-install); a new certificate that does not match its
# key is refused and the old one keeps being served.  Also: CORS preflight.
. "$(dirname "$0")/common.bash"
HOST=7a1f0c2e-5b3d-4e8f-9a6b-0c1d2e3f4a5b
start_simhv h1
write_conf $HOST h1 10s
start_hasvcd
wait_api
cli() { "$BINDIR/hasvc" -s 127.0.0.1 -p "$API_PORT" -pwf "$T/root-pw" --no-verify "$@"; }
served() { # fingerprint of the certificate the API presents
	openssl s_client -connect 127.0.0.1:$API_PORT </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 | cut -d= -f2
}

first=$(served)
[[ -n $first ]] || die "no certificate served"
openssl x509 -in "$T/data/xapi-ssl.pem" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' ||
	die "the generated certificate lacks the management address in its SAN"
[[ $(stat -c %a "$T/data/xapi-ssl.key") == 600 ]] || die "the key file is not 0600"
echo "generated: $first"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=new \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/new.key" -out "$T/new.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=other \
	-keyout "$T/other.key" -out "$T/other.pem" 2>/dev/null
want=$(openssl x509 -in "$T/new.pem" -noout -fingerprint -sha256 | cut -d= -f2)

# A certificate with somebody else's key: refused, nothing changes.
before=$(sha256sum "$T/data/xapi-ssl.pem" "$T/data/xapi-ssl.key")
rc=0; out=$(cli host-server-certificate-install certificate="$T/new.pem" private-key="$T/other.key" 2>&1) || rc=$?
((rc == 1)) || die "mismatched key: exit $rc: $out"
grep -q SERVER_CERTIFICATE_INVALID <<<"$out" || die "mismatched key: $out"
[[ $(sha256sum "$T/data/xapi-ssl.pem" "$T/data/xapi-ssl.key") == "$before" ]] || die "files changed"
[[ $(served) == "$first" ]] || die "the served certificate changed after a refused install"
echo "refused: $(grep -m1 -i 'key\|match' <<<"$out")"

# The right pair: installed and served to new connections, without a restart.
cli host-server-certificate-install certificate="$T/new.pem" private-key="$T/new.key" ||
	die "install failed"
[[ $(served) == "$want" ]] || die "the new certificate is not served"
cmp -s "$T/new.key" "$T/data/xapi-ssl.key" || openssl pkey -in "$T/data/xapi-ssl.key" -noout ||
	die "the key file is not a key"
echo "installed: $want"

# Only a pool-admin may do it.
printf 'reader-pw-1\n' >"$T/reader-pw"
cli user-add name=reader role=read-only password-file="$T/reader-pw" || die "user-add"
rc=0; out=$("$BINDIR/hasvc" -s 127.0.0.1 -p "$API_PORT" -u reader -pwf "$T/reader-pw" --no-verify \
	host-server-certificate-install certificate="$T/new.pem" private-key="$T/new.key" 2>&1) || rc=$?
((rc == 1)) && grep -q RBAC_PERMISSION_DENIED <<<"$out" || die "read-only user: exit $rc: $out"

# CORS preflight, as browsers send it.
hdrs=$(curl -ks -i -X OPTIONS "$API_URL/jsonrpc")
grep -qi '^Access-Control-Allow-Origin: \*' <<<"$hdrs" || die "no Allow-Origin: $hdrs"
grep -qi '^Access-Control-Allow-Methods: .*POST' <<<"$hdrs" || die "no Allow-Methods: $hdrs"
echo "CORS preflight answered"
