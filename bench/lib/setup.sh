# shellcheck shell=bash
# Setup for bench/run.sh: tools, builds and the configs of every server.

# The fixed 64-byte body the upstream returns.
BODY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# ensure_tools installs wrk, nginx, haproxy and curl when missing.
ensure_tools() {
	local missing=() tool
	for tool in wrk nginx haproxy curl; do
		command -v "$tool" >/dev/null || missing+=("$tool")
	done
	((${#missing[@]} == 0)) && return 0
	if ((EUID != 0)); then
		echo "missing ${missing[*]}: install them (apt-get install -y ${missing[*]}) or run as root" >&2
		return 1
	fi
	log "installing ${missing[*]}"
	apt-get install -y "${missing[@]}" >&2 ||
		{ apt-get update >&2 && apt-get install -y "${missing[@]}" >&2; }
}

# build_tools builds the fixed-rate client (required) and pylon (optional:
# on failure pylon is skipped). $1 is the repo root, $2 the output dir.
build_tools() {
	local root=$1 out=$2
	(cd "$root" && go build -o "$out/fixedrate" ./bench/fixedrate)
	# Static, as released: pylon uses no cgo, and mapping no libc saves RSS.
	if ! (cd "$root" && CGO_ENABLED=0 go build -o "$out/pylon" ./cmd/pylon) 2>"$out/pylon-build.err"; then
		log "SKIP pylon: go build ./cmd/pylon failed:"
		tail -n 20 "$out/pylon-build.err" >&2
		rm -f "$out/pylon"
	fi
}

# nginx_conf prints an nginx.conf; $1 is the run dir, $2 the server block.
nginx_conf() {
	cat <<CONF
worker_processes auto;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $1/client_body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
$2
}
CONF
}

# upstream_conf prints the upstream nginx config listening on port $2.
upstream_conf() {
	nginx_conf "$1" "    server {
        listen 127.0.0.1:$2;
        default_type text/plain;
        location / { return 200 \"$BODY\"; }
    }"
}

# nginx_proxy_conf prints the nginx reverse proxy config: port $2 to
# upstream port $3 over pooled keep-alive connections.
nginx_proxy_conf() {
	nginx_conf "$1" "    upstream up {
        server 127.0.0.1:$3;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$2;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
}

# haproxy_conf prints the HAProxy config: port $1 to upstream port $2.
haproxy_conf() {
	cat <<CONF
global
    nbthread 2
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend web
    bind 127.0.0.1:$1
    default_backend up
backend up
    http-reuse always
    server up1 127.0.0.1:$2
CONF
}

# pylon_conf prints the pylon gateway config: port $1 to upstream port $2.
pylon_conf() {
	cat <<CONF
admin: { address: "off" }
access_log: { path: "off" }
listeners: [ { name: web, address: "127.0.0.1:$1" } ]
routes: [ { name: all, match: { path: { prefix: / } }, service: up } ]
services: [ { name: up, endpoints: ["127.0.0.1:$2"] } ]
CONF
}
