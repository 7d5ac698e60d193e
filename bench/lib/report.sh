# shellcheck shell=bash
# Parsing and reporting for bench/run.sh.

# parse_wrk reads wrk --latency output on stdin and prints
# "requests rps p50_us p99_us errors".
parse_wrk() {
	awk '
	function us(v) {
		if (v ~ /us$/) return v + 0
		if (v ~ /ms$/) return v * 1000
		if (v ~ /m$/) return v * 60000000
		if (v ~ /s$/) return v * 1000000
		return v + 0
	}
	$1 == "50%" { p50 = us($2) }
	$1 == "99%" { p99 = us($2) }
	$2 == "requests" && $3 == "in" { req = $1 }
	$1 == "Requests/sec:" { rps = $2 }
	/Non-2xx or 3xx responses:/ { err += $NF }
	/Socket errors:/ { err += $4 + $6 + $8 + $10 }
	END { printf "%d %.2f %.1f %.1f %d\n", req, rps, p50, p99, err }'
}

# parse_fixedrate prints the value of key $1 from fixedrate output $2.
parse_fixedrate() {
	local kv
	for kv in $2; do
		[[ ${kv%%=*} == "$1" ]] && { echo "${kv#*=}"; return 0; }
	done
	echo n/a
}

# median prints the median of its arguments, or n/a if there are none.
median() {
	(($# > 0)) || { echo "n/a"; return 0; }
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
	END { if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# fmt0 prints the number $1 rounded to an integer, or n/a.
fmt0() {
	[[ $1 =~ ^-?[0-9.]+(e[-+]?[0-9]+)?$ ]] && printf '%.0f' "$1" || echo "n/a"
}

# calc evaluates the awk expression $2 and prints it with format $1; it
# prints "n/a" when an operand is missing.
calc() {
	[[ $2 == *n/a* || $2 == *nan* ]] && { echo "n/a"; return 0; }
	awk -v fmt="$1" "BEGIN { r = $2; printf fmt \"\\n\", r }" 2>/dev/null || echo "n/a"
}

# ratio prints $1/$2 with two decimals, or n/a.
ratio() {
	if [[ -z $1 || -z $2 || $1 == n/a || $2 == n/a ]] || awk -v b="$2" 'BEGIN { exit !(b == 0) }'; then
		echo "n/a"
	else
		calc "%.2f" "$1 / $2"
	fi
}

# machine_info prints the header lines describing the host and tools; $1
# is the load average when the run started.
machine_info() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r); load average $1 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	echo "- Versions: $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(haproxy -v | awk 'NR == 1 { print "HAProxy " $3 }'), $(wrk -v 2>&1 | awk 'NR == 1 { print $1 " " $2 }'), $(go version | awk '{ print $3 }'), pylon $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
}
