# Scenario info (issue 10, 2a): hv_xen's host facts (xc_physinfo) and domain
# list (libxl_list_domain over xc_domain_getinfolist) against `xl info` and
# `xl list`, as hasvcd records them in the pool database and shows them
# through its API; the backend's unit test on a real dom0.
KNOWN=11111111-2222-4333-8444-555555555555
ALIEN=99999999-8888-4777-8666-555555555555

mark unit-test
if [ -x /bin/test_hv_xen ]; then
	HASVC_XEN_GUEST_KERNEL=/guest/vmlinuz HASVC_XEN_GUEST_RAMDISK=/guest/initrd.cpio test_hv_xen >$L/test_hv_xen.log 2>&1 ||
		{ cat $L/test_hv_xen.log; fail "test_hv_xen failed on real Xen"; }
	grep -E '^\[  (PASSED|SKIPPED|FAILED)' $L/test_hv_xen.log
	note unit="$(grep -c '^\[       OK' $L/test_hv_xen.log) ok"
fi

seed_pool
# a VM of the pool, Halted in the database although Xen runs it already
# (hasvcd must record it Running here), and a domain the pool does not know
db vm-add uuid=$KNOWN name-label=known memory-static-max=128MiB power-state=Halted >/dev/null || fail "vm-add"
write_conf
for g in known:$KNOWN alien:$ALIEN; do
	cat >/tmp/$g.cfg <<EOC
name = "${g%%:*}"
uuid = "${g#*:}"
type = "pv"
kernel = "/guest/vmlinuz"
ramdisk = "/guest/initrd.cpio"
extra = "console=hvc0 quiet rdinit=/guestinit"
memory = 128
vcpus = 1
EOC
	xl create -q /tmp/$g.cfg || fail "xl create ${g%%:*}"
done
mark guests-created
xl list -v
start_hasvcd
wait_api
mark api-up

# 1. domains: hasvcd's view of Xen's list
wait_for 30 "hasvcd to record 'known' Running" sh -c "[ \"\$(hasvc -s 127.0.0.1 -p $PORT -u root -pwf $PW --no-verify vm-list uuid=$KNOWN params=power-state --minimal)\" = Running ]"
[ "$(vm_field $KNOWN resident-on)" = "$HOST" ] || fail "'known' not resident here: $(vm_field $KNOWN resident-on)"
[ "$(xl_uuid known)" = "$KNOWN" ] || fail "xl list -v: known has UUID $(xl_uuid known)"
wait_for 10 "hasvcd to leave the alien domain alone" logged hasvcd.log "domain $ALIEN: not in the pool database; left alone"
[ -z "$(cli vm-list uuid=$ALIEN --minimal)" ] || fail "the alien domain was added to the pool"
# every Running-here VM of the pool has a domain in `xl list`, and vice versa for the pool's VMs
running=$(cli vm-list power-state=Running params=uuid --minimal | tr ',' '\n' | sort)
xen=$(xl list -v | awk 'NR > 1 && $2 != 0 {print $7}' | grep -v $ALIEN | sort)
[ "$running" = "$xen" ] || fail "hasvcd's running VMs [$running] differ from xl list [$xen]"
say "domains: hasvcd's Running VMs = xl list (without dom0 and the foreign domain): $running"

# 2. host memory: xc_physinfo, as hasvcd stores it, against xl info (MiB)
mib() { awk -v f="$1" '$1 == f {print $3}'; }
total=$(xl info | mib total_memory)
wait_for 30 "host metrics in the database" sh -c "hasvc-db -d $D/pool.db host-list | grep -q 'last-updated: *[1-9]'"
hl=$(db host-list)
echo "$hl" | grep -E 'memory-(total|free)'
h_total=$(echo "$hl" | awk '$1 == "memory-total:" {print $2; exit}')
h_free=$(echo "$hl" | awk '$1 == "memory-free:" {print $2; exit}')
free=$(xl info | mib free_memory)
to_mib() { case $1 in *GiB) echo $((${1%GiB} * 1024)) ;; *MiB) echo ${1%MiB} ;; *KiB) echo $((${1%KiB} / 1024)) ;; *) echo $(($1 / 1048576)) ;; esac; }
ht=$(to_mib $h_total) hf=$(to_mib $h_free)
say "xl info: total_memory $total MiB, free_memory $free MiB; hasvcd: total $ht MiB, free $hf MiB"
[ "$ht" = "$total" ] || fail "memory-total: hasvcd $ht MiB, xl info $total MiB"
d=$((hf - free)); [ $d -lt 0 ] && d=$((-d))
[ $d -le 2 ] || fail "memory-free: hasvcd $hf MiB, xl info $free MiB"
note mem_total_mib=$total mem_free_mib=$free

# 3. a domain destroyed behind hasvcd's back: an unprotected VM goes Halted
xl destroy known || fail "xl destroy known"
wait_for 30 "hasvcd to record 'known' Halted" sh -c "[ \"\$(hasvc -s 127.0.0.1 -p $PORT -u root -pwf $PW --no-verify vm-list uuid=$KNOWN params=power-state --minimal)\" = Halted ]"
mark known-halted
xl list
kill -TERM $HASVCD_PID
wait $HASVCD_PID || fail "hasvcd exited $? on SIGTERM"
xl destroy alien
