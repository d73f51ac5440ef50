#!/usr/bin/env bash
# Acknowledged writes survive master failures: a client makes 200 writes (one
# pool.other_config key each, retrying through HOST_IS_SLAVE, connection
# errors and unconfirmed writes) while the master's hasvcd is killed with
# SIGKILL three times (and started again each time).  At the end every key
# the client was told "Success" for is in every host's own copy.
source "$(dirname "$0")/common.bash"

lab up --hosts 3 --vms 3 >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up failed"; }
H=(host1 host2 host3)
acked=$T/acked
: >"$acked"
lab exec host3 python3 "$HERE/durability_client.py" "$HASVC_LAB_DIR/creds.json" 200 "$acked" \
	>"$T/client.log" 2>&1 &
client=$!

count() { wc -l <"$acked"; }
wait_for_n() { # seconds, n
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		(($(count) >= $2)) && return 0
		sleep 0.1
	done
	return 1
}
for round in 1 2 3; do
	if ! wait_for_n 60 $((round * 50 - 10)); then
		cat "$T/client.log"
		die "timed out waiting for $((round * 50 - 10)) acknowledged writes"
	fi
	m=$(master)
	echo "round $round: $(count) writes acknowledged; killing the master's hasvcd on $m"
	lab kill "$m" hasvcd >/dev/null
	sleep 1
	lab start "$m" hasvcd >/dev/null
	(($(count) < 200)) || die "the client finished before round $round's kill: too fast"
done
wait "$client" || { cat "$T/client.log"; die "the client failed"; }
echo "client: $(count) writes acknowledged"
(($(count) == 200)) || die "only $(count) of 200 writes acknowledged"
wait_for 30 "every host back and in sync" all_ready "${H[@]}"
wait_for 20 "identical databases" same_db "${H[@]}"
lab exec host1 python3 "$HERE/durability_client.py" "$HASVC_LAB_DIR/creds.json" --audit "$acked" ||
	die "acknowledged writes are missing"
echo "PASS"
