#!/usr/bin/env bash
# The seed's placement story (seeds/004) on real flotad processes: machine 1
# runs the embedded etcd, the others join it; every flotad runs an engine
# (one leads) and an agent. Everything listens on loopback only, and every
# process this script starts is stopped by its own PID when it exits.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${FLOTA_BIN_DIR:-$here/../bin}
work=$(mktemp -d /tmp/flota-demo.XXXXXX)
port=${FLOTA_DEMO_PORT:-23791}
export FLOTACTL_ENDPOINT=http://127.0.0.1:$port
pids=()

cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# machine N [metadata]: starts flotad for machine N; its ID is fixed so the
# output below is the same from run to run.
declare -A pid_of
machine() {
	local n=$1 md=${2:-zone=dmz} id
	id=$(printf '%02d%s' "$n" 5f0c2b7e9a4d4e61b0a3c8d7e6f51a2b | cut -c1-32)
	local args=(--machine-id="$id" --metadata="$md" --public-ip="127.0.0.1$n"
		--machine-ttl=3s --engine-ttl=3s --log-level=warn --systemd=false --agent-api=off)
	if [ "$n" = 1 ]; then
		args+=(--data-dir="$work/etcd" --listen-client-urls="$FLOTACTL_ENDPOINT" --listen-peer-url="http://127.0.0.1:$((port + 10))")
	else
		args+=(--etcd-endpoints="$FLOTACTL_ENDPOINT")
	fi
	"$bin/flotad" "${args[@]}" 2>>"$work/flotad-$n.log" &
	pids+=($!)
	pid_of[$n]=$!
}

say() { printf '\n# %s\n' "$*"; }
run() {
	printf '$ flotactl %s\n' "$*"
	"$bin/flotactl" "$@" || printf '(exit %d)\n' "$?"
}
settle() { sleep "${1:-1}"; }

cd "$work"
cat >nginx@.service <<'UNIT'
[Unit]
Description=My NGinx server

[Service]
ExecStart=/bin/busybox httpd -f -p 80%i

[X-Fleet]
MachineMetadata=zone=dmz
Conflicts=nginx@*
UNIT
cat >proxy.service <<'UNIT'
[Unit]
Description=Reverse proxy on every DMZ machine

[Service]
ExecStart=/bin/busybox httpd -f -p 8080

[X-Fleet]
MachineMetadata=zone=dmz
Global=true
UNIT

say "three machines in the DMZ"
machine 1
settle 2
machine 2
machine 3
settle
run list-machines

say "N copies, one per machine: Conflicts=nginx@* (strict anti-affinity)"
run start --no-block nginx@1 nginx@2 nginx@3
settle
run list-unit-files

say "a fourth copy has nowhere to go, and flotactl says why"
run start --block-attempts=1 nginx@4
run start --no-block nginx@5
settle
run list-unit-files

say "a fourth DMZ machine joins: the waiting copy with the lowest name gets it"
machine 4
settle 2
run list-unit-files

say "one and only one on each DMZ machine: Global=true with MachineMetadata"
machine 5 zone=lan
settle 2
run start --no-block proxy.service
settle
run list-units
run list-unit-files --fields=unit,dstate,target,global,desc

say "why does a unit wait? the engine says, per constraint"
run list-unit-files --fields=unit,target,reason

say "machine 2 dies (SIGKILL, no goodbye): after its lease (3s) its units are placed again or explained"
kill -9 "${pid_of[2]}"
wait "${pid_of[2]}" 2>/dev/null || true
settle 6
run list-machines
run list-unit-files
run list-units
