#!/bin/busybox sh
# /init of the dom0 initramfs (tests/xen/run.sh).  The kernel hands unknown
# boot parameters to init as environment variables: xt=SCENARIO, xtphase=N.
# Brings up Xen's toolstack (xenstored, xen-init-dom0, xenconsoled), loopback
# and the data disk (/dev/vda, ext4, mounted on /disk: hasvcd's data-dir and
# every log live there, so they survive a watchdog reset), runs
# /xt/SCENARIO.sh in a subshell and prints XT-DONE rc=N, then powers off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
mkdir -p /proc /sys /dev /tmp /run /disk /var/run /var/lib/xen /var/lib/xenstored /var/log/xen
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm /run/xen /run/xenstored /var/run/xen
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
echo "XT-MARK init uptime=$(cut -d' ' -f1 /proc/uptime) xt=${xt:-shell} phase=${xtphase:-1}"
for m in $(cat /lib/modules/xt/order); do
	insmod /lib/modules/xt/$m || echo "insmod $m failed"
done
mkdir -p /proc/xen && mount -t xenfs xenfs /proc/xen
xenstored --pid-file /run/xenstored.pid || echo "xenstored failed"
xen-init-dom0 >/dev/null || echo "xen-init-dom0 failed"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen || echo "xenconsoled failed"
ip link set lo up
hostname xt-dom0
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /disk || echo "XT-FAIL cannot mount the data disk /dev/vda"
mkdir -p /disk/data /disk/log
echo "XT-MARK toolstack uptime=$(cut -d' ' -f1 /proc/uptime)"

rc=0
case ${xt:-shell} in
shell)
	setsid cttyhack sh
	;;
*)
	(. /xt/lib.sh && . /xt/$xt.sh)
	rc=$?
	;;
esac
if [ $rc -ne 0 ]; then
	for f in /disk/log/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 30 lines)"
		tail -n 30 "$f"
	done
	xl list 2>&1
fi
echo "XT-DONE rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
umount /disk 2>/dev/null
poweroff -f
sleep 30
