#!/usr/bin/env bash
# Loopback load benchmark: pylon against nginx and HAProxy as reverse
# proxies, and against the upstream reached directly. See
# docs/performance.md for what is measured and how.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
PATH=$PATH:/usr/sbin:/sbin:/usr/local/go/bin
# shellcheck source=lib/setup.sh
source "$BENCH/lib/setup.sh"
# shellcheck source=lib/procs.sh
source "$BENCH/lib/procs.sh"
# shellcheck source=lib/report.sh
source "$BENCH/lib/report.sh"

DURATION=${DURATION:-10}             # seconds per wrk round
ROUNDS=${ROUNDS:-3}                  # rounds per target, interleaved
CONNECTIONS=${CONNECTIONS:-64}       # wrk -c
THREADS=${THREADS:-2}                # wrk -t
WARMUP=${WARMUP:-2}                  # seconds of unmeasured wrk per target
RATE=${RATE:-1000}                   # fixed-rate requests per second
FIXED_DURATION=${FIXED_DURATION:-10} # seconds of fixed-rate load per target
FIXED_CONNS=${FIXED_CONNS:-16}       # fixed-rate keep-alive connections
FIXED_ROUNDS=${FIXED_ROUNDS:-1}      # fixed-rate rounds per target, interleaved
BASE_PORT=${BASE_PORT:-18400}        # upstream; proxies use the next three

usage() {
	cat <<USAGE
usage: bench/run.sh [-d seconds] [-r rounds] [-c connections] [-t threads]
                    [-w warmup-seconds] [-R fixed-rate]

Flags override the environment variables of the same meaning:
  -d DURATION=$DURATION  -r ROUNDS=$ROUNDS  -c CONNECTIONS=$CONNECTIONS
  -t THREADS=$THREADS  -w WARMUP=$WARMUP  -R RATE=$RATE
Also: FIXED_DURATION=$FIXED_DURATION FIXED_CONNS=$FIXED_CONNS FIXED_ROUNDS=$FIXED_ROUNDS
      BASE_PORT=$BASE_PORT
The report goes to stdout and bench/results/latest.md.
USAGE
}

while getopts "d:r:c:t:w:R:h" opt; do
	case $opt in
	d) DURATION=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	c) CONNECTIONS=$OPTARG ;;
	t) THREADS=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	R) RATE=$OPTARG ;;
	h) usage && exit 0 ;;
	*) usage >&2 && exit 2 ;;
	esac
done

log() { echo "bench: $*" >&2; }

TMP=
CLIENT= # pid of the running wrk or fixedrate
cleanup() {
	[[ -n $CLIENT ]] && kill -TERM "$CLIENT" 2>/dev/null
	stop_all
	[[ -n $TMP ]] && rm -rf "$TMP"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

declare -A PORT PID
TARGETS=()
SKIPPED=() # "target (reason)" for the report

# add_target registers target $1 on port $2 served by pid $3 ("" = none).
add_target() {
	TARGETS+=("$1")
	PORT[$1]=$2
	PID[$1]=$3
}

# start_nginx starts an nginx named $1 with config text $2; pid in START_PID.
start_nginx() {
	local dir=$TMP/$1
	mkdir -p "$dir"
	printf '%s\n' "$2" >"$dir/nginx.conf"
	start_bg "$dir/nginx" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
}

# start_proxy waits for target $1 (pid START_PID, port $2) and registers
# it, or prints its stderr file $3 and skips it.
start_proxy() {
	local pid=$START_PID body
	if wait_ready "$pid" "$2" && body=$(curl -fs "http://127.0.0.1:$2/") && [[ $body == "$BODY" ]]; then
		add_target "$1" "$2" "$pid"
		return 0
	fi
	SKIPPED+=("$1 (did not serve the upstream body; see its stderr above the report)")
	log "SKIP $1: not serving the upstream body on port $2; its stderr:"
	tail -n 40 "$3" >&2 || true
	kill -TERM "$pid" 2>/dev/null || true
}

start_servers() {
	local up=$BASE_PORT port
	for port in "$up" $((up + 1)) $((up + 2)) $((up + 3)); do
		port_busy "$port" && { log "port $port is in use; set BASE_PORT"; exit 1; }
	done
	start_nginx upstream "$(upstream_conf "$TMP/upstream" "$up")"
	wait_ready "$START_PID" "$up" || { log "upstream nginx failed:"; cat "$TMP/upstream/error.log" >&2; exit 1; }
	add_target direct "$up" ""
	if [[ -x $TMP/pylon ]]; then
		pylon_conf $((up + 1)) "$up" >"$TMP/pylon.yaml"
		start_bg "$TMP/pylon" "$TMP/pylon" gateway -c "$TMP/pylon.yaml"
		start_proxy pylon $((up + 1)) "$TMP/pylon.err"
		[[ -n ${PID[pylon]:-} ]] && PYLON_IDLE_KB=$(mem_kb "${PID[pylon]}" VmRSS)
	fi
	start_nginx proxy "$(nginx_proxy_conf "$TMP/proxy" $((up + 2)) "$up")"
	start_proxy nginx $((up + 2)) "$TMP/proxy/error.log"
	haproxy_conf $((up + 3)) "$up" >"$TMP/haproxy.cfg"
	start_bg "$TMP/haproxy" haproxy -db -f "$TMP/haproxy.cfg"
	start_proxy haproxy $((up + 3)) "$TMP/haproxy.err"
}

# run_client runs "$@" in the background with stdout in $1 (the first
# argument) and waits for it. Waiting with the wait builtin lets a Ctrl-C
# reach the traps at once, even though wrk itself handles SIGINT.
run_client() {
	local out=$1 rc=0
	shift
	"$@" >"$out" &
	CLIENT=$!
	wait "$CLIENT" || rc=$?
	CLIENT=
	return "$rc"
}

declare -A RPS P50 P99 REQS TICKS ERRS HWM FIXED CPUR STEAL

# wrk_round runs wrk for $2 seconds against target $1 and accumulates its
# results unless $3 is "warmup".
wrk_round() {
	local t=$1 pid=${PID[$1]} before=0 after=0 req rps p50 p99 err total0 steal0 total1 steal1 steal
	[[ -n $pid ]] && before=$(cpu_ticks "$pid")
	read -r total0 steal0 < <(machine_cpu)
	if ! run_client "$TMP/wrk.out" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${2}s" --latency "http://127.0.0.1:${PORT[$t]}/"; then
		log "  $t: wrk failed; round not counted"
		return 0
	fi
	[[ -n $pid ]] && after=$(cpu_ticks "$pid")
	read -r total1 steal1 < <(machine_cpu)
	[[ ${3:-} == warmup ]] && return 0
	read -r req rps p50 p99 err < <(parse_wrk <"$TMP/wrk.out")
	RPS[$t]+="$rps " P50[$t]+="$p50 " P99[$t]+="$p99 "
	REQS[$t]=$((${REQS[$t]:-0} + req))
	TICKS[$t]=$((${TICKS[$t]:-0} + after - before))
	if [[ -n $pid ]] && ((req > 0)); then
		CPUR[$t]+="$(calc "%.2f" "($after - $before) * 1000000 / $(getconf CLK_TCK) / $req") "
	fi
	ERRS[$t]=$((${ERRS[$t]:-0} + err))
	steal=$(calc "%.1f%%" "($steal1 - $steal0) * 100 / ($total1 - $total0)")
	STEAL[$t]+="${STEAL[$t]:+, }$steal"
	log "  $t: $rps req/s, p50 ${p50}us, p99 ${p99}us, errors $err, steal $steal"
}

run_rounds() {
	local t r
	log "warm-up: ${WARMUP}s per target"
	for t in "${TARGETS[@]}"; do wrk_round "$t" "$WARMUP" warmup; done
	for ((r = 1; r <= ROUNDS; r++)); do
		log "round $r/$ROUNDS: ${DURATION}s per target, wrk -t$THREADS -c$CONNECTIONS"
		for t in "${TARGETS[@]}"; do wrk_round "$t" "$DURATION"; done
	done
	for t in "${TARGETS[@]}"; do
		[[ -n ${PID[$t]} ]] && HWM[$t]=$(mem_kb "${PID[$t]}" VmHWM)
	done
	run_fixed
}

# run_fixed runs the fixed-rate client against every target, FIXED_ROUNDS
# times interleaved, and appends each summary line to FIXED[target].
run_fixed() {
	local t r
	for ((r = 1; r <= FIXED_ROUNDS; r++)); do
		log "fixed rate $r/$FIXED_ROUNDS: $RATE req/s for ${FIXED_DURATION}s per target on $FIXED_CONNS connections"
		for t in "${TARGETS[@]}"; do
			if run_client "$TMP/fixed.out" "$TMP/fixedrate" -url "http://127.0.0.1:${PORT[$t]}/" -rate "$RATE" \
				-duration "${FIXED_DURATION}s" -conns "$FIXED_CONNS"; then
				FIXED[$t]+="$(<"$TMP/fixed.out")"$'\n'
				log "  $t: $(<"$TMP/fixed.out")"
			else
				log "  $t: fixedrate failed"
			fi
		done
	done
}

# fixed_stat prints the median over rounds of fixedrate key $2 for target
# $1, or n/a if no round succeeded. With $3 = sum it prints the sum.
fixed_stat() {
	local line
	local -a vals=()
	while read -r line; do
		[[ -n $line ]] && vals+=("$(parse_fixedrate "$2" "$line")")
	done <<<"${FIXED[$1]:-}"
	((${#vals[@]} > 0)) || { echo "n/a"; return 0; }
	[[ ${3:-} == sum ]] && { printf '%s\n' "${vals[@]}" | awk '{ s += $1 } END { print s }'; return 0; }
	median "${vals[@]}"
}

# cpu_per_req prints the proxy CPU time per request of target $1 in µs.
cpu_per_req() {
	[[ -z ${PID[$1]:-} || -z ${REQS[$1]:-} ]] && { echo "n/a"; return; }
	calc "%.1f" "${TICKS[$1]} * 1000000 / $(getconf CLK_TCK) / ${REQS[$1]}"
}

print_throughput() {
	local t hwm
	echo "| target | req/s (median) | p50 | p99 | proxy CPU µs/req | proxy peak RSS | errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for t in "${TARGETS[@]}"; do
		hwm=n/a && [[ -n ${HWM[$t]:-} ]] && hwm="$(calc "%.1f" "${HWM[$t]} / 1024") MiB"
		# shellcheck disable=SC2086 # one word per round is intended
		printf '| %s | %s | %s µs | %s µs | %s | %s | %s |\n' "$t" "$(fmt0 "$(median ${RPS[$t]:-})")" \
			"$(fmt0 "$(median ${P50[$t]:-})")" "$(fmt0 "$(median ${P99[$t]:-})")" "$(cpu_per_req "$t")" "$hwm" "${ERRS[$t]:-n/a}"
	done
}

# rps_of prints the median req/s of target $1, or n/a if it did not run.
rps_of() {
	# shellcheck disable=SC2086
	[[ -n ${RPS[$1]:-} ]] && median ${RPS[$1]} || echo "n/a"
}

print_ratios() {
	[[ -z ${RPS[pylon]:-} ]] && { echo "pylon did not run: no ratios."; return; }
	local p c
	p=$(rps_of pylon) c=$(cpu_per_req pylon)
	echo "| ratio | throughput | CPU per request |"
	echo "|---|---:|---:|"
	echo "| pylon / nginx | $(ratio "$p" "$(rps_of nginx)") | $(ratio "$c" "$(cpu_per_req nginx)") |"
	echo "| pylon / haproxy | $(ratio "$p" "$(rps_of haproxy)") | $(ratio "$c" "$(cpu_per_req haproxy)") |"
	echo "| pylon / direct | $(ratio "$p" "$(rps_of direct)") | n/a |"
	echo
	# The medians hide how much the rounds differ on a shared machine. In
	# each round the targets run one after the other, pylon first of the
	# proxies, so a round's ratio compares runs seconds apart.
	local o
	for o in nginx haproxy; do
		[[ -n ${RPS[$o]:-} ]] || continue
		echo "Round by round, pylon / $o: throughput $(per_round "${RPS[pylon]}" "${RPS[$o]}"); CPU per request $(per_round "${CPUR[pylon]:-}" "${CPUR[$o]:-}")."
		echo
	done
	# On a shared host the neighbours take CPU time from this machine
	# (steal time); a round with much of it is slower for whichever target
	# ran then.
	local steal=""
	for o in "${TARGETS[@]}"; do
		steal+="${steal:+; }$o ${STEAL[$o]:-n/a}"
	done
	echo "Steal time, the share of the machine's CPU the hypervisor gave other guests, round by round: $steal."
	echo
	echo "Pylon idle RSS right after start: $(calc "%.1f" "${PYLON_IDLE_KB:-0} / 1024") MiB."
}

# per_round prints the ratios of two lists of per-round values, $1 over
# $2, round by round: "1.02, 0.95, 1.10".
per_round() {
	local -a a b
	local out="" i
	read -r -a a <<<"$1"
	read -r -a b <<<"$2"
	for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do
		out+="${out:+, }$(ratio "${a[i]}" "${b[i]}")"
	done
	echo "${out:-n/a}"
}

print_fixed() {
	local t base50 base99 v50 v99
	base50=$(fixed_stat direct p50_us) base99=$(fixed_stat direct p99_us)
	echo "| target | p50 | p99 | p99.9 | added p50 | added p99 | errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for t in "${TARGETS[@]}"; do
		v50=$(fixed_stat "$t" p50_us) v99=$(fixed_stat "$t" p99_us)
		printf '| %s | %s µs | %s µs | %s µs | %s µs | %s µs | %s |\n' "$t" "$(fmt0 "$v50")" "$(fmt0 "$v99")" \
			"$(fmt0 "$(fixed_stat "$t" p999_us)")" "$(calc "%.0f" "$v50 - $base50")" \
			"$(calc "%.0f" "$v99 - $base99")" "$(fixed_stat "$t" errors sum)"
	done
}

print_report() {
	echo "# Pylon loopback benchmark"
	echo
	machine_info "$LOAD_START"
	((${#SKIPPED[@]} == 0)) || echo "- Skipped: ${SKIPPED[*]}"
	echo "- Load: $ROUNDS interleaved rounds × ${DURATION}s per target, wrk -t$THREADS -c$CONNECTIONS --latency, ${WARMUP}s warm-up; 64-byte responses from nginx on 127.0.0.1"
	echo
	echo "## Throughput (closed loop, wrk)"
	echo
	print_throughput
	echo
	print_ratios
	echo
	echo "## Added latency at a fixed $RATE req/s (open loop, bench/fixedrate, median of $FIXED_ROUNDS × ${FIXED_DURATION}s, $FIXED_CONNS connections)"
	echo
	print_fixed
}

main() {
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	ensure_tools
	TMP=$(mktemp -d -t pylon-bench.XXXXXX)
	chmod 755 "$TMP" # nginx workers run as an unprivileged user
	log "building into $TMP"
	build_tools "$ROOT" "$TMP"
	[[ -x $TMP/pylon ]] || SKIPPED+=("pylon (go build ./cmd/pylon failed)")
	start_servers
	log "targets: ${TARGETS[*]}"
	run_rounds
	mkdir -p "$BENCH/results"
	print_report | tee "$BENCH/results/latest.md"
}

main
