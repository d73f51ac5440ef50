# Scenario vm (issue 10, 2b): a protected PV guest (128 MiB) started by
# hasvcd through libxl from its stored config (libxl JSON in hv-config), seen
# running; destroyed behind hasvcd's back with `xl destroy` and, being
# protected, restarted; shut down from inside (a PV shutdown request) once
# its policy no longer asks to keep it running: hasvcd reaps the dead domain
# (libxl destroy) and records it Halted.
G=22222222-3333-4444-8555-666666666666

seed_pool
db pool-param-set ha-enabled=true >/dev/null || fail "ha-enabled"
db vm-add uuid=$G name-label=xt-guest memory-static-max=128MiB vcpus=1 ha-restart-priority=restart \
	ha-always-run=true resident-on=$HOST power-state=Running "hv-config=$GUEST_JSON" >/dev/null ||
	fail "vm-add of the protected guest"
write_conf
echo_log $L/hasvcd.log hasvcd "vm $G|xen"
start_hasvcd
mark hasvcd-started
# 1. started through libxl from the stored config
wait_for 60 "the protected guest's domain" sh -c "xl list | grep -q '^xt-guest '"
mark domain-created
[ "$(xl_uuid xt-guest)" = "$G" ] || fail "xt-guest runs with UUID $(xl_uuid xt-guest), not $G"
wait_for 60 "the guest's init (its console log)" guest_up xt-guest 1
mark guest-up
wait_api
[ "$(vm_field $G power-state)" = Running ] || fail "power-state $(vm_field $G power-state)"
[ "$(vm_field $G resident-on)" = "$HOST" ] || fail "resident-on $(vm_field $G resident-on)"
mem=$(xl list | awk '$1 == "xt-guest" {print $3}')
[ "$mem" -ge 127 ] && [ "$mem" -le 129 ] || fail "xt-guest has $mem MiB, not 128"
d1=$(xl_domid xt-guest)
xl list

# 2. destroyed behind hasvcd's back: restarted (a new domain, same UUID)
mark xl-destroy
xl destroy xt-guest || fail "xl destroy"
wait_for 60 "hasvcd to restart the protected guest" sh -c "d=\$(xl list | awk '\$1 == \"xt-guest\" {print \$2}'); [ -n \"\$d\" ] && [ \"\$d\" != $d1 ]"
mark restarted
[ "$(xl_uuid xt-guest)" = "$G" ] || fail "the restarted domain has UUID $(xl_uuid xt-guest)"
wait_for 60 "the restarted guest's init" guest_up xt-guest 2
mark guest-up-again
# (a restart is claimed first -- docs/failover.md, "Incarnations" -- then
# started as the START intent the claim issued to this host)
logged hasvcd.log "vm $G: protected and not running; claiming its restart" || fail "no restart decision in hasvcd's log"
logged hasvcd.log "vm $G: start intent (issue 1) for host $HOST; starting it" || fail "the claimed restart was not started as an intent"
[ "$(vm_field $G power-state)" = Running ] || fail "power-state after the restart: $(vm_field $G power-state)"

# 3. the guest stops: with ha-always-run=false hasvcd reaps it and marks it Halted
cli vm-param-set uuid=$G ha-always-run=false ha-restart-priority= || fail "vm-param-set"
sleep 2
mark xl-shutdown
xl shutdown xt-guest || fail "xl shutdown"
wait_for 60 "hasvcd to record the guest Halted" sh -c "[ \"\$(hasvc -s 127.0.0.1 -p $PORT -u root -pwf $PW --no-verify vm-list uuid=$G params=power-state --minimal)\" = Halted ]"
wait_for 30 "the shut-down domain to be reaped" sh -c "! xl list | grep -q '^xt-guest '"
mark halted
grep -q XT-GUEST-POWEROFF /var/log/xen/guest-xt-guest.log || say "(the guest's poweroff marker is not in its console log)"
logged hasvcd.log "vm $G: domain is shutdown; reaping it" || fail "hasvcd did not reap the shut-down domain"
sleep 3
xl list | grep -q '^xt-guest ' && fail "the guest was started again although no longer protected"
starts=$(grep -c "vm $G: started as Xen domain" $L/hasvcd.log)
[ "$starts" -eq 2 ] || fail "hasvcd started the guest $starts times, not 2"
kill -TERM $HASVCD_PID
wait $HASVCD_PID || fail "hasvcd exited $? on SIGTERM"
