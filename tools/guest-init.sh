#!/bin/busybox sh
# /init of the test VM's initramfs (see tools/vm-run.sh).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
hostname zkvm
. /zk-env
export PATH=/zk/bin:/zk/vm-tests:/bin:/sbin HOME=/root LD_LIBRARY_PATH=/zk/lib
export ZK_IN_VM=1
echo 1 > /proc/sys/kernel/printk_ratelimit 2>/dev/null
for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m.ko" || echo "init: insmod $m failed"; done
if [ "$ZK_LOAD" = 1 ] && [ -f /zk/kmod/zhikai.ko ]; then
    # shellcheck disable=SC2086
    insmod /zk/kmod/zhikai.ko $ZK_MODARGS || echo "init: insmod zhikai.ko failed"
    # udev's job: let the unprivileged test user reach the nodes.
    for n in /dev/dri/renderD* /dev/accel/accel*; do [ -e "$n" ] && chmod 666 "$n"; done
fi
cat > /bin/runas <<'RA'
#!/bin/sh
# Runs a command as the unprivileged test user (uid 1000).
exec su zkuser -s /bin/sh -c "$*"
RA
chmod +x /bin/runas
if [ "$ZK_SHELL" = 1 ]; then
    echo "zhikai VM: card(s) at $(ls /sys/bus/pci/drivers/zhikai 2>/dev/null | grep : | tr '\n' ' ')"
    echo "build/ is at /zk; 'poweroff -f' to leave."
    setsid cttyhack sh -l
else
    cd /tmp
    sh -c "$(cat /zk-cmd)"
    echo "ZK-EXIT=$?"
fi
poweroff -f
