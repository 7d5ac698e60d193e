# shellcheck shell=bash
# Process handling for bench/run.sh: start, readiness, CPU and memory of a
# server and its worker processes, and cleanup.

STARTED=() # pids of every server started, killed by stop_all

# start_bg runs "$@" in the background with stdout/stderr in $1.out/.err
# (the first argument is that log prefix) and records its pid in STARTED.
# The pid is left in START_PID.
start_bg() {
	local logs=$1
	shift
	"$@" >"$logs.out" 2>"$logs.err" &
	START_PID=$!
	STARTED+=("$START_PID")
}

# port_busy succeeds if something accepts connections on 127.0.0.1:$1.
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_ready waits up to 5 s for pid $1 to answer 200 on port $2. It fails
# early if the process exits.
wait_ready() {
	local pid=$1 port=$2 i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && return 0
		sleep 0.1
	done
	return 1
}

# proc_tree prints pid $1 and the pids of its direct children (nginx
# workers).
proc_tree() {
	local root=$1 f line
	local -a fields
	echo "$root"
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		read -ra fields <<<"${line##*) }"
		[[ ${fields[1]} == "$root" ]] && { f=${f#/proc/}; echo "${f%/stat}"; }
	done
	return 0
}

# cpu_ticks prints utime+stime, in clock ticks, summed over pid $1 and its
# children. Thread times are included in a process's own counters.
cpu_ticks() {
	local total=0 pid line
	local -a fields
	for pid in $(proc_tree "$1"); do
		read -r line 2>/dev/null <"/proc/$pid/stat" || continue
		read -ra fields <<<"${line##*) }"
		total=$((total + fields[11] + fields[12]))
	done
	echo "$total"
}

# machine_cpu prints the machine's total CPU time and its steal time (the
# time the hypervisor gave other guests), in clock ticks, from the first
# line of /proc/stat: user nice system idle iowait irq softirq steal.
machine_cpu() {
	local -a f
	read -ra f </proc/stat
	echo "$((f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7] + f[8])) ${f[8]}"
}

# mem_kb prints the /proc status field $2 (VmHWM, VmRSS) in kB summed over
# pid $1 and its children.
mem_kb() {
	local total=0 pid key val
	for pid in $(proc_tree "$1"); do
		while read -r key val _; do
			[[ $key == "$2:" ]] && total=$((total + val))
		done 2>/dev/null <"/proc/$pid/status" || true
	done
	echo "$total"
}

# stop_all terminates every started process (and its children), waiting up
# to 3 s before SIGKILL.
stop_all() {
	local pid i alive
	local -a tree=()
	for pid in "${STARTED[@]}"; do
		mapfile -t -O "${#tree[@]}" tree < <(proc_tree "$pid")
		kill -TERM "$pid" 2>/dev/null || true
	done
	for ((i = 0; i < 30; i++)); do
		alive=0
		for pid in "${tree[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		((alive)) || break
		sleep 0.1
	done
	for pid in "${tree[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	STARTED=()
}
