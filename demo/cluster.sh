#!/usr/bin/env bash
# make demo: seed 004's story on a real cluster. The host runs flotad with
# the embedded etcd and the engine; each machine is a systemd-nspawn
# machine on a BTRFS snapshot (harness/cluster) with its own systemd, its
# own network namespace on the bridge flota0 (10.77.0.0/24) and flotad as a
# service. The web servers run as systemd-nspawn containers of an image that
# flota-image builds here (busybox httpd, one BTRFS layer), each on a task
# snapshot of its own with a named volume holding its page; the script asks
# them over HTTP. Everything it starts is stopped when it exits.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cluster=$repo/harness/cluster
export FLOTA_BIN=$repo/bin/flotad
harness_dir=${FLOTA_HARNESS_DIR:-/var/lib/flota-harness}
# Machines fetch images over HTTP from the host flotad, which serves the
# directory flota-image exports to (--serve-images).
images_url=http://10.77.0.1:4920/images
export FLOTA_HARNESS_FLOTAD_ENV="FLOTA_MACHINE_TTL=5s
FLOTA_IMAGE_SOURCE=$images_url"
flotactl=$repo/bin/flotactl
work=$(mktemp -d /tmp/flota-demo.XXXXXX)

cleanup() {
	"$cluster" down >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n# %s\n' "$*"; }
run() {
	printf '$ flotactl %s\n' "$*"
	"$flotactl" "$@" || printf '(exit %d)\n' "$?"
}
quietly() { "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }; }

# ask IP: what the web server on that machine answers (plain bash, no
# curl), waiting up to 10 s: a machine new to the image pulls it first.
ask() {
	local ip=$1 reply i
	for ((i = 0; i < 20; i++)); do
		if reply=$(timeout 5 bash -c "exec 3<>/dev/tcp/$ip/80 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null); then
			printf '  http://%s/ -> %s\n' "$ip" "$(printf '%s' "$reply" | tail -n 1)"
			return
		fi
		sleep 0.5
	done
	printf '  http://%s/ -> no answer\n' "$ip"
}

# ask_all UNIT-GLOB: ask every machine running a matching unit.
ask_all() {
	"$flotactl" list-units --no-legend --fields=unit,machine | while read -r u m; do
		# shellcheck disable=SC2053 # $1 is a glob on purpose
		[[ $u == $1 ]] && ask "${m#*/}"
	done
}

# build_image: web:1, a static busybox and a page under /usr, in one layer
# (the demo's point is the container; e2e/container_test.go ships layers).
build_image() {
	local tree=$work/image store=$harness_dir/mnt/demo-image-store a
	mkdir -p "$tree/usr/bin" "$tree/usr/lib" "$tree/usr/share/www"
	cp /bin/busybox "$tree/usr/bin/busybox"
	for a in sh httpd cat echo; do ln -s busybox "$tree/usr/bin/$a"; done
	echo 'ID=flota-demo' >"$tree/usr/lib/os-release"
	echo 'web:1 without a volume' >"$tree/usr/share/www/index.html"
	printf 'image web:1\nfrom scratch\ncopy usr /usr\n' >"$tree/web.flota"
	"$repo/bin/flota-image" build --store "$store" "$tree/web.flota"
	rm -rf "$harness_dir/images-export/web_1"
	"$repo/bin/flota-image" export --store "$store" web:1 "$harness_dir/images-export/web_1"
}

say "setting up: the host flotad (embedded etcd + engine) and 3 machines in the DMZ"
quietly "$cluster" deps
quietly "$cluster" down
quietly "$cluster" pool
echo "building the image web:1 with flota-image:"
build_image 2>&1 | sed 's/^/  /' 
quietly "$cluster" host start --serve-images="$harness_dir/images-export" --agent-api=10.77.0.1:4920
echo "the host flotad serves the image at $images_url/web_1/"
quietly "$cluster" up 3
run list-machines

cd "$work"
cat >nginx@.service <<'UNIT'
[Unit]
Description=My NGinx server

[Service]
# Inside the container: the page, in the volume, then the server. (A
# container unit has no host-side ExecStartPre=: it would run as root on the
# machine.)
ExecStart=/usr/bin/sh -c 'echo "nginx@%i on %H, in a container of web:1" >/usr/share/www/index.html && exec /usr/bin/httpd -f -p 80 -h /usr/share/www'
MemoryMax=64M

[X-Container]
Image=web:1
Volume=www-%i:/usr/share/www

[X-Fleet]
MachineMetadata=zone=dmz
Conflicts=nginx@*
UNIT
cat >proxy.service <<'UNIT'
[Unit]
Description=Reverse proxy on every DMZ machine

[Service]
ExecStart=/bin/busybox httpd -f -p 8080 -h /etc

[X-Fleet]
MachineMetadata=zone=dmz
Global=true
UNIT

say "N copies, one per machine: Conflicts=nginx@* (strict anti-affinity)"
run start nginx@1
run start nginx@2
run start nginx@3
run list-units
echo "each instance answers:"
ask_all 'nginx@*'

say "a fourth copy has nowhere to go: fleet waited silently, flota says why"
run start --block-attempts=2 nginx@4
run start --no-block nginx@5
run list-unit-files

say "a fourth DMZ machine joins: the waiting copy with the lowest name starts there"
quietly "$cluster" add flota-m4 zone=dmz,rack=r4
run start nginx@4
ask_all 'nginx@4*'

say "the unit's own systemd, through its machine's agent: systemd-nspawn on a task snapshot"
run status nginx@1
run journal --lines=3 nginx@1

say "into the container: flotactl exec runs a command in it (and machinectl on its machine sees it)"
run exec nginx@1 sh -c 'echo "hostname $(cat /proc/sys/kernel/hostname); it serves: $(cat /usr/share/www/index.html)"'
echo "the live dashboard of the cluster: http://10.77.0.11:4920/ui/ (any machine's, while the demo runs)"

say "one and only one on each DMZ machine: Global=true with MachineMetadata=zone=dmz"
quietly "$cluster" add flota-m5 zone=lan,rack=r5
run start proxy.service
sleep 2
run list-units --fields=unit,machine,active,sub
say "a DMZ machine joins: the global unit follows it; one crashes: what it ran stays placed there, with no state"
quietly "$cluster" add flota-m6 zone=dmz,rack=r6
sleep 3
run list-units --fields=unit,machine,active
quietly "$cluster" kill flota-m2
echo "(flota-m2 crashed: no goodbye, its lease runs out in 5 s; its nginx instance has nowhere else to go,"
echo " so it stays placed there and says why, and a machine that comes back restarts nothing)"
sleep 8
run list-units --fields=unit,machine,active
run list-unit-files --fields=unit,dstate,state,target,reason

say "soft anti-affinity: 5 instances that would rather not meet, on the 4 DMZ machines left"
cat >cache@.service <<'UNIT'
[Unit]
Description=A cache, one a machine while the cluster allows

[Service]
ExecStart=/bin/sleep infinity

[X-Fleet]
MachineMetadata=zone=dmz
SoftConflicts=cache@*
UNIT
run start cache@1 cache@2 cache@3 cache@4 cache@5
echo "(all 5 placed, two of them together, where the strict Conflicts= would have left one waiting;"
echo " the two together carry a note that says so)"
run list-unit-files --fields=unit,target,reason,notes
say "flotactl plan: where a sixth would go, and every machine's score, without writing anything"
run plan cache@6

say "drain: flota-m1 empties for maintenance, two units at a time; a unit that may run twice starts elsewhere before it stops here, one with Conflicts= stops here first"
m1=$("$cluster" exec flota-m1 cat /etc/machine-id | tr -d '\r\n')
run list-units --fields=unit,machine,active
run drain --max-parallel=2 --deadline=15s "$m1"
echo "(global units stay; what had nowhere else to go ran until the deadline)"
run list-machines --fields=machine,ip,drain
run list-units --fields=unit,machine,active
run undrain "$m1"
