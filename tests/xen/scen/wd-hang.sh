# Scenario wd-hang (issue 10, 2c): the xen fencing driver.  A one-host
# corosync pool with HA enabled through the API (pool.enable_ha renews the
# statefile on the data disk); once hasvcd has armed Xen's watchdog through
# hasvc-wdkeeper, hasvcd is stopped with SIGSTOP: the keeper withholds the
# pets (and writes its fence record), and Xen must reset the machine within W
# ("Watchdog timer fired for domain 0"; QEMU runs with -no-reboot and exits).
# run.sh checks the reset, its time after the sigstop mark, and the record.
clustered_pool
cluster_up
enable_ha ${XT_HA_TIMEOUT:-90}
sleep 3
sync
mark sigstop
kill -STOP $HASVCD_PID
# the keeper's record, as seen in dom0's page cache (the disk may lag)
i=0
while [ $i -lt 100 ]; do
	if ls $D/fence 2>/dev/null | grep -q .; then mark record-visible; ls -l $D/fence; break; fi
	sleep 0.1
	i=$((i + 1))
done
sleep $((WD_MS / 1000 * 3 + 30))
fail "still running $((WD_MS / 1000 * 3 + 30)) s after hasvcd was stopped"
