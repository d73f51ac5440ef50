#!/usr/bin/env bash
# Incarnations (docs/failover.md, "Incarnations"; hasvc/core.h): a host that
# comes back -- rebooted, or only its hasvcd restarted -- never starts a VM
# that another host starts too, on real corosync and the lab's simhvs.
#   1. a 3-host pool, 12 VMs, T = 10 s: a member running protected VMs is
#      powered off and booted again at once.  Every protected VM runs again
#      (wait-failover), the new hasvcd logged another incarnation than the
#      old one, each of the victim's VMs started at most once since the
#      power-off (by the master elsewhere, or on the rebooted host after a
#      claim: either, never both), and `hasvc-lab check` passes;
#   2. a daemon restart without a death: kill -9 of another member's
#      hasvcd, one of its protected VMs crashes (simhv ctl crash) while
#      hasvcd is down, hasvcd starts again at once (within the keeper's
#      lease: no fence).  The crashed VM runs again on that host, claimed
#      there (its log); no other VM is started anywhere; the incarnation
#      differs; no reset; `check`;
#   3. a START issued to an old incarnation: ntol 0, the first member
#      disabled; with the other member's hasvcd killed, the master is
#      disabled and evacuated, so the master ISSUEs the moved VMs' STARTs to
#      that member's old incarnation (its row still shows it, it is still
#      live, the only enabled host); its new hasvcd adopts them and
#      starts them (its log), each moved VM starts exactly once, no reset;
#      `check`.
source "$(dirname "$0")/common.bash"
need_fuse
L=$HASVC_LAB_DIR

failover_pool 3 --vms 12 --timeout 10
m=$(master)
mdb=$L/$m/data/pool.db
lab status --vms | awk 'NR > 2 {print $1, $2, $7}' >"$T/vms"
lab exec "$m" hasvc vm-list params=uuid,name-label --json | jq -r '.[] | "\(.["name-label"]) \(.uuid)"' >"$T/uuids"
uuid_of() { awk -v n="$1" '$1 == n {print $2}' "$T/uuids"; }
huuid() { awk -v n="$1" '$2 == n {print $3}' "$L/hosts"; }
hv() { lab exec "$m" hasvc "$@"; }
# incarnations HOST: every incarnation HOST's hasvcds logged, one a line.
incarnations() { sed -n 's/.*hasvcd [0-9]* running (.*incarnation \([0-9]*\)).*/\1/p' "$L/$1/hasvcd.log"; }
n_incarnations() { [[ $(incarnations "$1" | wc -l) -ge $2 ]]; }
# starts_since NS [UUID]: "HOST UUID" of every ledger start after NS.
starts_since() { awk -v t="$1" -v u="${2:-}" '$4 == "start" && $1 > t && (u == "" || $3 == u) {print $2, $3}' "$L/ledger"; }
ledger_now() { awk 'END {print $1}' "$L/ledger"; }
# since HOST SKIP: HOST's hasvcd.log after its first SKIP lines.
since() { tail -n +"$(($2 + 1))" "$L/$1/hasvcd.log"; }
steady3() { steady_n 3 host1 host2 host3; }
# hasvc_db_resident DB HOSTUUID: the VMs Running on that host in DB, one a line.
hasvc_db_resident() {
	"$BINDIR/hasvc-db" -d "$1" vm-list | awk -v h="$2" '
		function flush() { if (u != "" && ps == "Running" && ro == h) print u; u = ps = ro = "" }
		$1 == "uuid:" { flush(); u = $2 } $1 == "power-state:" { ps = $2 }
		$1 == "resident-on:" { ro = $2 } END { flush() }'
}

members=()
for h in host2 host3 host1; do [[ $h == "$m" ]] || members+=("$h"); done
victim=${members[0]} other=${members[1]}
echo "master $m, members ${members[*]}"

echo "== 1: power-off and immediate boot of $victim"
vvms=$(awk -v h="$victim" '$3 == h && ($2 == "protected" || $2 == "best-effort") {print $1}' "$T/vms")
grep -qw protected < <(awk -v h="$victim" '$3 == h {print $2}' "$T/vms") || die "$victim runs no protected VM"
inc0=$(incarnations "$victim" | tail -n 1)
skip=$(wc -l <"$L/$victim/hasvcd.log")
t0=$(ledger_now)
lab poweroff "$victim" >/dev/null
lab boot "$victim" >/dev/null
wait_for 20 "$victim's new hasvcd" n_incarnations "$victim" 2
inc1=$(incarnations "$victim" | tail -n 1)
[[ -n $inc0 && -n $inc1 && $inc0 != "$inc1" ]] || die "$victim's incarnation did not change: $inc0 -> $inc1"
echo "$victim: incarnation $inc0 -> $inc1"
lab wait-failover --timeout 60 >/dev/null || { lab status --vms; die "the failover did not complete"; }
claimed=$(since "$victim" "$skip" | grep -c 'claiming its restart' || true)
for name in $vvms; do
	u=$(uuid_of "$name")
	s=$(starts_since "$t0" "$u")
	n=$(grep -c . <<<"$s" || true)
	((n <= 1)) || die "$name started $n times since the power-off: $(tr '\n' ' ' <<<"$s")"
	if ((n == 0)); then
		[[ $(awk -v n="$name" '$1 == n {print $2}' "$T/vms") != protected ]] || die "protected $name not restarted"
		echo "  $name: not restarted"
		continue
	fi
	on=${s%% *}
	if [[ $on == "$victim" ]]; then
		since "$victim" "$skip" | grep -q "vm $u: .*claiming its restart" ||
			die "$name restarted on the rebooted $victim without a claim"
		echo "  $name: claimed by the rebooted $victim"
	else
		echo "  $name: restarted on $on by the master"
	fi
done
echo "($claimed claim(s) logged by $victim)"
lab check
wait_for 40 "$victim admitted again (3 steady)" steady3
recorded() { since "$victim" "$skip" | grep -q "incarnation $inc1 recorded"; }
wait_for 20 "$victim's incarnation $inc1 recorded in the database" recorded

echo "== 2: kill -9 of $other's hasvcd, a VM crashes, hasvcd starts again"
u_other=$(huuid "$other")
ovms=$(hasvc_db_resident "$mdb" "$u_other")
cname=$(awk -v h="$other" '$3 == h && $2 == "protected" {print $1; exit}' "$T/vms")
[[ -n $cname ]] || die "$other runs no protected VM of its own"
cu=$(uuid_of "$cname")
grep -qw "$cu" <<<"$ovms" || die "$cname is not resident on $other: $ovms"
inc0=$(incarnations "$other" | tail -n 1)
skip=$(wc -l <"$L/$other/hasvcd.log")
r0=$(resets "$other")
t1=$(ledger_now)
lab kill "$other" hasvcd >/dev/null
"$BINDIR/hasvc-simhv" ctl "$L/$other/simhv.sock" crash "$cu" >/dev/null
lab start "$other" hasvcd >/dev/null
wait_for 20 "$other's new hasvcd" n_incarnations "$other" 2
inc1=$(incarnations "$other" | tail -n 1)
[[ $inc0 != "$inc1" ]] || die "$other's incarnation did not change: $inc0"
echo "$other: incarnation $inc0 -> $inc1"
restarted() { starts_since "$t1" "$cu" | grep -q .; }
wait_for 30 "$cname to start again" restarted
lab wait-failover --timeout 60 >/dev/null || { lab status --vms; die "not every protected VM runs"; }
grep -q "$cu stop crashed" "$L/ledger" || die "the crash of $cname is not in the ledger"
s=$(starts_since "$t1")
[[ $s == "$other $cu" ]] || die "since the daemon restart, expected one start ($cname on $other), got: $s"
since "$other" "$skip" | grep -q "vm $cu: protected and not running; claiming its restart" ||
	die "$other's new hasvcd did not log a claim of $cname"
since "$other" "$skip" | grep -q 'a restart: the liveset agreed in ring' ||
	die "$other's new hasvcd did not start from the saved liveset"
[[ $(resets "$other") == "$r0" ]] || die "$other was reset: $(simhv "$other" | grep reset)"
for u in $ovms; do
	[[ $u == "$cu" ]] && continue
	[[ $(hasvc_db_resident "$mdb" "$u_other") == *"$u"* ]] || die "VM $u left $other"
done
echo "$cname crashed and was claimed and restarted on $other; its other $(($(wc -w <<<"$ovms") - 1)) VMs kept their domains"
lab check
wait_for 30 "3 steady after the daemon restart" steady3

# The moved VMs must go to $other: with ntol 0, the rebooted victim is
# disabled too (it is not evacuated), so $other is the only enabled host left.
tgt=$other evac=$m third=$victim
echo "== 3: STARTs issued to $tgt's old incarnation are adopted by its new hasvcd"
hv pool-param-set ha-host-failures-to-tolerate=0 >/dev/null
ntol0() { [[ $(local_get "$m" ha-host-failures-to-tolerate) == 0 ]]; }
wait_for 10 "ha-host-failures-to-tolerate 0" ntol0
hv host-disable host="$third" >/dev/null
u_tgt=$(huuid "$tgt") u_evac=$(huuid "$evac")
evms=$(hasvc_db_resident "$mdb" "$u_evac")
[[ -n $evms ]] || die "$evac runs no VM to evacuate"
inc0=$(incarnations "$tgt" | tail -n 1)
skip=$(wc -l <"$L/$tgt/hasvcd.log")
r0=$(resets "$tgt")
t2=$(ledger_now)
mskip=$(wc -l <"$L/$m/hasvcd.log")
lab kill "$tgt" hasvcd >/dev/null
hv host-disable host="$evac" >/dev/null
hv host-evacuate host="$evac" >/dev/null &
evpid=$!
# issued_old: a START ISSUED to $tgt (whose hasvcd is down: to its old incarnation).
issued_old() {
	"$BINDIR/hasvc-db" -d "$mdb" intent-list 2>/dev/null |
		awk -v h="$u_tgt" -v i="$inc0" '$1 == "op:" {op = $2} $1 == "state:" {st = $2}
			$1 == "host:" {ho = $2} $1 == "incarnation:" && op == "start" && st == "issued" &&
			ho == h && $2 == i {n++} END {exit !n}'
}
ok3=1
for ((i = 0; i < 40; i++)); do issued_old && break; sleep 0.1; done
((i < 40)) || ok3=0
lab start "$tgt" hasvcd >/dev/null
wait "$evpid" || true
((ok3)) || { since "$m" "$mskip" | grep -e failover: -e evacuat; die "no START was issued to $tgt's old incarnation within 4 s"; }
echo "$tgt's hasvcd down; a START issued to its old incarnation $inc0; hasvcd started again"
evacuated() { [[ -z $(hasvc_db_resident "$mdb" "$u_evac") ]] && lab wait-failover --timeout 1 >/dev/null; }
wait_for 60 "$evac evacuated" evacuated
adopted=$(since "$tgt" "$skip" | grep -c "adopting it for incarnation $(incarnations "$tgt" | tail -n 1)" || true)
((adopted > 0)) || die "$tgt's new hasvcd adopted no start intent"
for u in $evms; do
	s=$(starts_since "$t2" "$u")
	[[ $(grep -c . <<<"$s") == 1 ]] || die "moved VM $u started other than once: $s"
	[[ ${s%% *} == "$tgt" ]] || die "moved VM $u started on ${s%% *}, not on $tgt"
	echo "  $(awk -v u="$u" '$2 == u {print $1}' "$T/uuids") -> ${s%% *}"
done
[[ $(resets "$tgt") == "$r0" ]] || die "$tgt was reset: $(simhv "$tgt" | grep reset)"
echo "$adopted START(s) adopted by $tgt's new hasvcd"
hv host-enable host="$evac" >/dev/null
hv host-enable host="$third" >/dev/null
lab check
echo "failover_rejoin: ok"
