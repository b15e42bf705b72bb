#!/bin/sh
# Runs inside the freshly debootstrapped image (chroot), after rootfs/ was
# copied over it. Part of the image recipe: changing it rebuilds the image.
set -eu

systemctl enable systemd-networkd.service flotad.service
# Quiet console, nothing that reaches beyond the test network, fast boot.
systemctl mask console-getty.service getty@.service serial-getty@.service \
	getty.target apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer \
	systemd-networkd-wait-online.service

passwd -l root >/dev/null
# Every machine gets its own ID (harness/cluster writes one per snapshot).
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
ln -s /etc/machine-id /var/lib/dbus/machine-id
mkdir -p /usr/local/bin /var/lib/flota
# debootstrap leaves /var/lib/machines as a nested subvolume, which a
# snapshot shows as an empty stub nothing can be created in: make it a plain
# directory, so nested containers can live there.
rmdir /var/lib/machines 2>/dev/null || rm -rf /var/lib/machines
mkdir -m 0700 /var/lib/machines

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log
