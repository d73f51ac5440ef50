# Scenario wd-disable (issue 10, 2c): pool.disable_ha disarms Xen's watchdog
# cleanly: after it hasvcd is stopped with SIGSTOP (nothing pets any more) and
# the host must survive three times W; then SIGCONT, SIGTERM, and the keeper,
# disarmed, exits 0.
clustered_pool
cluster_up
enable_ha ${XT_HA_TIMEOUT:-90}
sleep 3
t0=$(up)
cli pool-ha-disable || fail "pool-ha-disable"
mark ha-disabled
note disable_call_s=$(echo "$(up) $t0" | awk '{printf "%.1f", $1 - $2}')
wait_for 30 "hasvcd to disarm" logged hasvcd.log 'fence: watchdog disarmed'
wait_for 10 "the keeper to release Xen's watchdog slot" logged wdkeeper.log 'Xen watchdog slot [0-9]* released'
mark disarmed
kill -STOP $HASVCD_PID
s=$((WD_MS * 3 / 1000 + 2))
say "hasvcd stopped; waiting ${s}s (3 W + 2 s)"
sleep $s
mark survived
note survived_s=$s
kill -CONT $HASVCD_PID
kill -TERM $HASVCD_PID
wait $HASVCD_PID || fail "hasvcd exited $? on SIGTERM"
kill -TERM $KEEPER_PID
wait $KEEPER_PID || fail "the keeper exited $? on SIGTERM (armed?)"
kill -TERM $CS_PID
wait $CS_PID 2>/dev/null
true
