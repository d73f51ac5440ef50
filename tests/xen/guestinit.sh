#!/bin/busybox sh
# /guestinit of the tiny PV guest (tests/xen/run.sh builds its initramfs):
# a marker on the guest's console, which xenconsoled logs in dom0 as
# /var/log/xen/guest-NAME.log, then nothing.  A PV shutdown request runs
# /sbin/poweroff (the kernel's orderly_poweroff), which powers off at once.
/bin/busybox mount -t proc proc /proc
echo "XT-GUEST-UP uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime)"
while :; do /bin/busybox sleep 3600; done
