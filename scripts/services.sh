#!/usr/bin/env bash
# Throwaway service instances on loopback for integration tests and benchmarks.
#
# Usage:
#   scripts/services.sh start NAME         start NAME (orthanc, rabbitmq, postgresql, s3) on free loopback ports, with its
#                                          own data folder; waits until it answers
#   scripts/services.sh stop NAME          stop it and delete its data
#   scripts/services.sh stop               stop every service started here
#   scripts/services.sh halt NAME          stop it but keep its data, ports and env lines (an outage, for tests)
#   scripts/services.sh resume NAME        start a halted service again on the same ports with the same data
#   scripts/services.sh status             state of each service, then the env file
#   scripts/services.sh rabbitmqctl ARG... rabbitmqctl against the RabbitMQ started here (list_queues, ...)
#   scripts/services.sh orthanc-config DIR DICOM_PORT HTTP_PORT [QCPIPE_PORT]
#                                          print Orthanc's configuration JSON (data under DIR); the .NET test
#                                          fixture (OrthancFixture) uses this too, so both run the same Orthanc
#   scripts/services.sh start prometheus [HOST:PORT...]
#                                          Prometheus scraping /metrics of the targets given (e.g. a running service's
#                                          HTTP port) every $PROMETHEUS_SCRAPE_INTERVAL (default 1s)
#   scripts/services.sh prometheus-targets HOST:PORT...
#                                          replace the targets of the Prometheus started here (it reloads them by itself)
#
# Contract:
#   QC_SERVICES_DIR   state folder, default ${TMPDIR:-/tmp}/qc-services. One sub-folder per service holds its
#                     configuration, data, log and pid file; `stop` deletes it.
#   QC_SERVICES_ENV   the env file, default $QC_SERVICES_DIR/services.env: KEY=VALUE lines (no quoting; bash can
#                     `source` it, tests parse it). `start` replaces a service's keys, `stop` removes them:
#                       ORTHANC_AET=ORTHANC           Orthanc's own AE title
#                       ORTHANC_DICOM_PORT=NNNNN      its DICOM port (C-ECHO, C-STORE SCP)
#                       ORTHANC_HTTP_PORT=NNNNN       its REST / DICOMweb port (no authentication: loopback only)
#                       ORTHANC_URL=http://127.0.0.1:NNNNN
#                       ORTHANC_DICOMWEB=http://127.0.0.1:NNNNN/dicom-web
#                       ORTHANC_PID=NNNN
#                       RABBITMQ_HOST=127.0.0.1 RABBITMQ_PORT=NNNNN (AMQP 0-9-1, no TLS)
#                       RABBITMQ_USER=guest RABBITMQ_PASSWORD=guest (RabbitMQ lets guest in from loopback only)
#                       RABBITMQ_URL=amqp://guest:guest@127.0.0.1:NNNNN/  RABBITMQ_NODE=qc-NNNN@localhost  RABBITMQ_PID=NNNN
#                       POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=NNNNN POSTGRES_USER=qc POSTGRES_PASSWORD=qc POSTGRES_DB=qc
#                       POSTGRES_CONNECTION=Host=127.0.0.1;Port=NNNNN;Username=qc;Password=qc;Database=qc (Npgsql form)
#                       POSTGRES_PID=NNNN
#                       PROMETHEUS_PORT=NNNNN PROMETHEUS_URL=http://127.0.0.1:NNNNN PROMETHEUS_PID=NNNN
#                       S3_URL=http://127.0.0.1:NNNNN S3_ACCESS_KEY=S3RVER S3_SECRET_KEY=S3RVER S3_BUCKET=qc-instances
#                       S3_REGION=us-east-1 S3_PID=NNNN
#   RabbitMQ (Debian rabbitmq-server) runs as its own node with its own Erlang port mapper (epmd) on a free port,
#   distribution and AMQP bound to 127.0.0.1; PostgreSQL (Debian postgresql, its newest installed major) is a fresh
#   cluster made by initdb (as the postgres user when run as root), listening on 127.0.0.1 only, password auth.
#   Debian's packaged rabbitmq-server and postgresql services are never used or touched.
#   Prometheus (Debian prometheus) listens on 127.0.0.1 only, keeps its TSDB in its own folder and scrapes one job,
#   `qcpipeline` (path /metrics), whose targets are a file_sd file there; Debian's prometheus service is never used.
#   S3 is s3rver (npm, pinned in tools/s3rver/package-lock.json, installed there by `npm ci` when node_modules is
#   missing; never globally): an S3-compatible server on 127.0.0.1 with path-style buckets and its fixed test
#   credentials S3RVER/S3RVER; the bucket qc-instances exists from the start. Its objects are files under its folder.
#   Known DICOM peers (DicomModalities), the only ones Orthanc accepts C-STORE from, from 127.0.0.1 only:
#                       qcpipe = AE QCPIPE, 127.0.0.1, port $QCPIPE_PORT (default 11112): our C-STORE SCP, the
#                                target of `POST /modalities/qcpipe/store`. A test whose SCP port is dynamic sets it
#                                at run time: curl -X PUT $ORTHANC_URL/modalities/qcpipe \
#                                  -d '{"AET":"QCPIPE","Host":"127.0.0.1","Port":NNNNN}'
#                       qcscu  = AE QCSCU (our requestor's default calling AE title)
#   Ports are picked free at start. Orthanc's HTTP server refuses non-loopback clients (RemoteAccessAllowed
#   false); its DICOM port has no bind-address option in 1.10, so it listens on every interface but stores
#   only from the two loopback peers above.
#   Debian's packaged orthanc service (port 4242/8042, /var/lib/orthanc) is never used or touched here.
set -euo pipefail

SERVICES_DIR="${QC_SERVICES_DIR:-${TMPDIR:-/tmp}/qc-services}"
ENV_FILE="${QC_SERVICES_ENV:-$SERVICES_DIR/services.env}"

die() { echo "services.sh: $*" >&2; exit 1; }

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    local p
    for _ in $(seq 1 200); do
      p=$(( 20000 + RANDOM % 40000 ))
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    die "no free port found"
  fi
}

# Replaces (or removes, with no KEY=VALUE arguments) the lines of one prefix in the env file.
env_set() {
  local prefix="$1"; shift
  mkdir -p "$(dirname "$ENV_FILE")"
  touch "$ENV_FILE"
  local tmp; tmp=$(mktemp "$ENV_FILE.XXXXXX")
  grep -v "^${prefix}_" "$ENV_FILE" > "$tmp" || true
  for kv in "$@"; do echo "$kv" >> "$tmp"; done
  chmod 644 "$tmp"
  mv "$tmp" "$ENV_FILE"
}

env_get() { [ -f "$ENV_FILE" ] && sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }

orthanc_bin() {
  command -v Orthanc 2>/dev/null || { [ -x /usr/sbin/Orthanc ] && echo /usr/sbin/Orthanc; } || die "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)"
}

# The DICOMweb plugin of the Debian package orthanc-dicomweb.
orthanc_dicomweb_plugin() {
  local so
  so=$(dpkg -L orthanc-dicomweb 2>/dev/null | grep -E '/plugins/libOrthancDicomWeb\.so$' | head -n 1 || true)
  [ -n "$so" ] || so=$(ls /usr/share/orthanc/plugins/libOrthancDicomWeb.so 2>/dev/null || true)
  echo "$so"
}

orthanc_config() {
  local dir="$1" dicom="$2" http="$3" qcpipe="${4:-11112}"
  local plugin; plugin=$(orthanc_dicomweb_plugin)
  local plugins="[]"
  [ -n "$plugin" ] && plugins="[ \"$plugin\" ]"
  cat <<EOF
{
  "Name" : "qc-orthanc",
  "StorageDirectory" : "$dir/storage",
  "IndexDirectory" : "$dir/index",
  "StorageCompression" : false,
  "Plugins" : $plugins,
  "DicomWeb" : { "Enable" : true, "Root" : "/dicom-web/", "EnableWado" : true, "WadoRoot" : "/wado", "Host" : "127.0.0.1:$http", "Ssl" : false },
  "HttpServerEnabled" : true,
  "HttpPort" : $http,
  "RemoteAccessAllowed" : false,
  "AuthenticationEnabled" : false,
  "SslEnabled" : false,
  "HttpThreadsCount" : 8,
  "DicomServerEnabled" : true,
  "DicomAet" : "ORTHANC",
  "DicomPort" : $dicom,
  "DicomCheckCalledAet" : false,
  "DicomAlwaysAllowEcho" : true,
  "DicomAlwaysAllowStore" : false,
  "DicomCheckModalityHost" : true,
  "DicomModalitiesInDatabase" : false,
  "DicomModalities" : {
    "qcpipe" : { "AET" : "QCPIPE", "Host" : "127.0.0.1", "Port" : $qcpipe },
    "qcscu" : { "AET" : "QCSCU", "Host" : "127.0.0.1", "Port" : 11113 }
  },
  "DicomScuTimeout" : 10,
  "DicomScpTimeout" : 30,
  "DicomThreadsCount" : 4,
  "ConcurrentJobs" : 2,
  "SaveJobs" : false,
  "StableAge" : 2,
  "LimitFindResults" : 0,
  "OverwriteInstances" : true
}
EOF
}

wait_http() {
  local url="$1" pid="$2" log="$3"
  for _ in $(seq 1 150); do
    if curl -fsS --max-time 2 "$url" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2 || true; die "process $pid exited before $url answered"; }
    sleep 0.2
  done
  tail -n 30 "$log" >&2 || true
  die "$url did not answer within 30 s"
}

start_orthanc() {
  local dir="$SERVICES_DIR/orthanc"
  local pid; pid=$(env_get ORTHANC_PID || true)
  if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then echo "orthanc already running (pid $pid)"; return 0; fi
  local bin; bin=$(orthanc_bin)
  rm -rf "$dir"
  mkdir -p "$dir/storage" "$dir/index"
  local dicom http
  dicom=$(free_port); http=$(free_port)
  while [ "$http" = "$dicom" ]; do http=$(free_port); done
  orthanc_config "$dir" "$dicom" "$http" "${QCPIPE_PORT:-11112}" > "$dir/orthanc.json"
  # setsid: its own session, so a test runner's signals do not reach it and `stop` ends it alone.
  setsid "$bin" "$dir/orthanc.json" > "$dir/orthanc.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/pid"
  wait_http "http://127.0.0.1:$http/system" "$pid" "$dir/orthanc.log"
  env_set ORTHANC "ORTHANC_AET=ORTHANC" "ORTHANC_DICOM_PORT=$dicom" "ORTHANC_HTTP_PORT=$http" \
    "ORTHANC_URL=http://127.0.0.1:$http" "ORTHANC_DICOMWEB=http://127.0.0.1:$http/dicom-web" "ORTHANC_PID=$pid"
  echo "orthanc: DICOM 127.0.0.1:$dicom (AE ORTHANC), HTTP http://127.0.0.1:$http, pid $pid; env in $ENV_FILE"
}

stop_orthanc() {
  local dir="$SERVICES_DIR/orthanc" pid=""
  [ -f "$dir/pid" ] && pid=$(cat "$dir/pid")
  [ -n "$pid" ] || pid=$(env_get ORTHANC_PID || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "orthanc stopped (pid $pid)"
  fi
  rm -rf "$dir"
  [ -f "$ENV_FILE" ] && env_set ORTHANC
  return 0
}

# ---------------------------------------------------------------------------------------------------- RabbitMQ
rabbitmq_bin() {
  local d
  for d in /usr/lib/rabbitmq/bin /usr/lib/rabbitmq/sbin; do [ -x "$d/rabbitmq-server" ] && { echo "$d"; return; }; done
  die "RabbitMQ is not installed (apt-get install rabbitmq-server)"
}

# Exports the environment that makes rabbitmq-server / rabbitmqctl use the node in $1 (its folder) on the ports in
# its ports file. HOME holds the Erlang cookie, so the CLI tools and the node share it.
rabbitmq_env() {
  local dir="$1"; . "$dir/ports"
  export HOME="$dir" RABBITMQ_NODENAME="$node" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$amqp" \
    RABBITMQ_DIST_PORT="$dist" ERL_EPMD_PORT="$epmd" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_PID_FILE="$dir/pid" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rabbitmq_run() { # DIR: start the node of an existing folder and wait until the broker runs
  local dir="$1" bin; bin=$(rabbitmq_bin)
  ( rabbitmq_env "$dir"
    setsid "$bin/rabbitmq-server" >> "$dir/server.log" 2>&1 < /dev/null &
    "$bin/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" wait --timeout 90 "$dir/pid" >/dev/null 2>&1 \
      || { tail -n 30 "$dir/server.log" >&2 || true; die "RabbitMQ did not start within 90 s (log: $dir/server.log)"; } )
  . "$dir/ports"
  env_set RABBITMQ "RABBITMQ_HOST=127.0.0.1" "RABBITMQ_PORT=$amqp" "RABBITMQ_USER=guest" "RABBITMQ_PASSWORD=guest" \
    "RABBITMQ_URL=amqp://guest:guest@127.0.0.1:$amqp/" "RABBITMQ_NODE=$node" "RABBITMQ_PID=$(cat "$dir/pid")"
  echo "rabbitmq: AMQP 127.0.0.1:$amqp (guest/guest), node $node, pid $(cat "$dir/pid"); env in $ENV_FILE"
}

start_rabbitmq() {
  local dir="$SERVICES_DIR/rabbitmq"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then echo "rabbitmq already running (pid $(cat "$dir/pid"))"; return 0; fi
  rabbitmq_bin >/dev/null
  rm -rf "$dir"; mkdir -p "$dir/mnesia" "$dir/log"
  local amqp dist epmd
  amqp=$(free_port); dist=$(free_port); epmd=$(free_port)
  printf 'amqp=%s\ndist=%s\nepmd=%s\nnode=qc-%s@localhost\n' "$amqp" "$dist" "$epmd" "$$" > "$dir/ports"
  cat > "$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$amqp
loopback_users.guest = true
log.console = false
log.file.level = warning
EOF
  echo "[]." > "$dir/enabled_plugins"
  rabbitmq_run "$dir"
}

halt_rabbitmq() { # stop the node (and its epmd), keep the folder
  local dir="$SERVICES_DIR/rabbitmq" pid=""
  [ -f "$dir/ports" ] || return 0
  [ -f "$dir/pid" ] && pid=$(cat "$dir/pid")
  ( rabbitmq_env "$dir"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      # Bounded: on a loaded machine a graceful stop with clients connected can take minutes; then SIGTERM, then SIGKILL.
      timeout -k 5 20 "$(rabbitmq_bin)/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
      echo "rabbitmq stopped (pid $pid)"
    fi
    epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true )
  rm -f "$dir/pid"
}

stop_rabbitmq() {
  halt_rabbitmq
  rm -rf "$SERVICES_DIR/rabbitmq"
  [ -f "$ENV_FILE" ] && env_set RABBITMQ
  return 0
}

resume_rabbitmq() {
  local dir="$SERVICES_DIR/rabbitmq"
  [ -f "$dir/ports" ] || die "rabbitmq was not started here (nothing to resume)"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then echo "rabbitmq already running"; return 0; fi
  rabbitmq_run "$dir"
}

# -------------------------------------------------------------------------------------------------- PostgreSQL
postgres_bin() {
  local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] || die "PostgreSQL is not installed (apt-get install postgresql)"
  echo "$d"
}

# Runs a PostgreSQL program as the cluster's owner: postgres when we are root (it refuses to run as root).
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

postgres_run() { # DIR
  local dir="$1" bin; bin=$(postgres_bin); . "$dir/ports"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/socket" start >/dev/null \
    || { tail -n 30 "$dir/postgres.log" >&2 || true; die "PostgreSQL did not start (log: $dir/postgres.log)"; }
  local pid; pid=$(head -n 1 "$dir/data/postmaster.pid")
  env_set POSTGRES "POSTGRES_HOST=127.0.0.1" "POSTGRES_PORT=$port" "POSTGRES_USER=qc" "POSTGRES_PASSWORD=qc" "POSTGRES_DB=qc" \
    "POSTGRES_CONNECTION=Host=127.0.0.1;Port=$port;Username=qc;Password=qc;Database=qc" "POSTGRES_PID=$pid"
  echo "postgresql: 127.0.0.1:$port, database qc (qc/qc), pid $pid; env in $ENV_FILE"
}

start_postgresql() {
  local dir="$SERVICES_DIR/postgresql"
  if [ -f "$dir/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null; then
    echo "postgresql already running"; return 0
  fi
  local bin; bin=$(postgres_bin)
  rm -rf "$dir"; mkdir -p "$dir/socket"
  echo "port=$(free_port)" > "$dir/ports"
  echo qc > "$dir/pwfile"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
    runuser -u postgres -- test -x "$dir" || die "the postgres user cannot reach $dir: set QC_SERVICES_DIR to a folder it can enter"
  fi
  # Password auth (scram) on TCP, trust on the private socket only (createdb below).
  as_pg "$bin/initdb" -D "$dir/data" -U qc --pwfile="$dir/pwfile" --auth-host=scram-sha-256 --auth-local=trust \
    -E UTF8 --locale=C.UTF-8 --no-instructions > "$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  postgres_run "$dir"
  . "$dir/ports"
  as_pg "$bin/createdb" -h "$dir/socket" -p "$port" -U qc qc || die "createdb failed"
}

halt_postgresql() {
  local dir="$SERVICES_DIR/postgresql"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_pg "$(postgres_bin)/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  echo "postgresql stopped"
}

stop_postgresql() {
  halt_postgresql
  rm -rf "$SERVICES_DIR/postgresql"
  [ -f "$ENV_FILE" ] && env_set POSTGRES
  return 0
}

resume_postgresql() {
  local dir="$SERVICES_DIR/postgresql"
  [ -f "$dir/ports" ] || die "postgresql was not started here (nothing to resume)"
  if [ -f "$dir/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null; then echo "postgresql already running"; return 0; fi
  postgres_run "$dir"
}

# -------------------------------------------------------------------------------------------------- Prometheus
prometheus_targets() { # DIR HOST:PORT...: the file_sd targets file (Prometheus watches it and reloads it by itself)
  local dir="$1"; shift
  local list="" t
  for t in "$@"; do
    [[ "$t" =~ ^[A-Za-z0-9.:_-]+:[0-9]+$ ]] || die "prometheus target must be HOST:PORT, not '$t'"
    list="$list${list:+, }\"$t\""
  done
  printf '[ { "targets": [ %s ] } ]\n' "$list" > "$dir/targets.json.tmp"
  mv "$dir/targets.json.tmp" "$dir/targets.json"
}

start_prometheus() { # [HOST:PORT...]
  local dir="$SERVICES_DIR/prometheus"
  local pid; pid=$(env_get PROMETHEUS_PID || true)
  if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
    if [ $# -gt 0 ]; then prometheus_targets "$dir" "$@"; fi
    echo "prometheus already running (pid $pid)"; return 0
  fi
  local bin; bin=$(command -v prometheus 2>/dev/null) || die "Prometheus is not installed (apt-get install prometheus)"
  rm -rf "$dir"; mkdir -p "$dir/data"
  local port; port=$(free_port)
  local interval="${PROMETHEUS_SCRAPE_INTERVAL:-1s}"
  prometheus_targets "$dir" "$@"
  cat > "$dir/prometheus.yml" <<EOF
global:
  scrape_interval: $interval
  scrape_timeout: $interval
  evaluation_interval: $interval
scrape_configs:
  - job_name: qcpipeline
    metrics_path: /metrics
    file_sd_configs:
      - files: ["$dir/targets.json"]
        refresh_interval: 1s
EOF
  # setsid: its own session, so a test runner's signals do not reach it and `stop` ends it alone.
  setsid "$bin" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn > "$dir/prometheus.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/pid"
  wait_http "http://127.0.0.1:$port/-/ready" "$pid" "$dir/prometheus.log"
  env_set PROMETHEUS "PROMETHEUS_PORT=$port" "PROMETHEUS_URL=http://127.0.0.1:$port" "PROMETHEUS_PID=$pid"
  echo "prometheus: http://127.0.0.1:$port, scrape every $interval, targets: ${*:-none}, pid $pid; env in $ENV_FILE"
}

stop_prometheus() {
  local dir="$SERVICES_DIR/prometheus" pid=""
  [ -f "$dir/pid" ] && pid=$(cat "$dir/pid")
  [ -n "$pid" ] || pid=$(env_get PROMETHEUS_PID || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "prometheus stopped (pid $pid)"
  fi
  rm -rf "$dir"
  [ -f "$ENV_FILE" ] && env_set PROMETHEUS
  return 0
}

status_prometheus() {
  local pid; pid=$(env_get PROMETHEUS_PID || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "prometheus: running (pid $pid, $(env_get PROMETHEUS_URL))"
  else echo "prometheus: not running"; fi
}

# ---------------------------------------------------------------------------------------------------------- S3
S3_TOOL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tools/s3rver"

s3_bin() {
  command -v node >/dev/null 2>&1 || die "node is not installed (apt-get install nodejs npm)"
  if [ ! -x "$S3_TOOL_DIR/node_modules/.bin/s3rver" ]; then
    command -v npm >/dev/null 2>&1 || die "npm is not installed (apt-get install npm)"
    ( cd "$S3_TOOL_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null ) || die "npm ci in $S3_TOOL_DIR failed"
  fi
  echo "$S3_TOOL_DIR/node_modules/.bin/s3rver"
}

s3_run() { # DIR: start s3rver on the port of its ports file with the data of its folder, wait until it answers
  local dir="$1" bin; bin=$(s3_bin); . "$dir/ports"
  # The bucket is made on the first start only: a resumed store holds exactly what it held before the halt.
  local extra=()
  [ -d "$dir/data/qc-instances" ] || extra=(--configure-bucket qc-instances)
  setsid node "$bin" -d "$dir/data" -a 127.0.0.1 -p "$port" --no-vhost-buckets --silent "${extra[@]}" >> "$dir/s3rver.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$dir/pid"
  # Any HTTP answer counts (an anonymous GET / is 403 on a real S3; s3rver lists the buckets).
  for _ in $(seq 1 150); do
    if curl -sS --max-time 2 -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$dir/s3rver.log" >&2 || true; die "s3rver exited before it answered"; }
    sleep 0.2
  done
  curl -sS --max-time 2 -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null || die "s3rver did not answer within 30 s"
  env_set S3 "S3_URL=http://127.0.0.1:$port" "S3_ACCESS_KEY=S3RVER" "S3_SECRET_KEY=S3RVER" "S3_BUCKET=qc-instances" \
    "S3_REGION=us-east-1" "S3_PID=$pid"
  echo "s3: http://127.0.0.1:$port (S3RVER/S3RVER), bucket qc-instances, pid $pid; env in $ENV_FILE"
}

start_s3() {
  local dir="$SERVICES_DIR/s3"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then echo "s3 already running (pid $(cat "$dir/pid"))"; return 0; fi
  s3_bin >/dev/null
  rm -rf "$dir"; mkdir -p "$dir/data"
  echo "port=$(free_port)" > "$dir/ports"
  s3_run "$dir"
}

halt_s3() { # stop the server, keep its objects and port
  local dir="$SERVICES_DIR/s3" pid=""
  [ -f "$dir/pid" ] && pid=$(cat "$dir/pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "s3 stopped (pid $pid)"
  fi
  rm -f "$dir/pid"
}

stop_s3() {
  halt_s3
  rm -rf "$SERVICES_DIR/s3"
  [ -f "$ENV_FILE" ] && env_set S3
  return 0
}

resume_s3() {
  local dir="$SERVICES_DIR/s3"
  [ -f "$dir/ports" ] || die "s3 was not started here (nothing to resume)"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then echo "s3 already running"; return 0; fi
  s3_run "$dir"
}

status() {
  local pid url
  pid=$(env_get ORTHANC_PID || true); url=$(env_get ORTHANC_URL || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && curl -fsS --max-time 2 "$url/system" >/dev/null 2>&1; then
    echo "orthanc: running (pid $pid, $url)"
  else
    echo "orthanc: not running"
  fi
  pid=$(env_get RABBITMQ_PID || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "rabbitmq: running (pid $pid, port $(env_get RABBITMQ_PORT))"
  elif [ -f "$SERVICES_DIR/rabbitmq/ports" ]; then echo "rabbitmq: halted"; else echo "rabbitmq: not running"; fi
  pid=""; [ -f "$SERVICES_DIR/postgresql/data/postmaster.pid" ] && pid=$(head -n 1 "$SERVICES_DIR/postgresql/data/postmaster.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "postgresql: running (pid $pid, port $(env_get POSTGRES_PORT))"
  elif [ -f "$SERVICES_DIR/postgresql/ports" ]; then echo "postgresql: halted"; else echo "postgresql: not running"; fi
  status_prometheus
  pid=""; [ -f "$SERVICES_DIR/s3/pid" ] && pid=$(cat "$SERVICES_DIR/s3/pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "s3: running (pid $pid, $(env_get S3_URL))"
  elif [ -f "$SERVICES_DIR/s3/ports" ]; then echo "s3: halted"; else echo "s3: not running"; fi
  if [ -s "$ENV_FILE" ]; then echo "--- $ENV_FILE"; cat "$ENV_FILE"; fi
}

cmd="${1:-}"; what="${2:-}"
# Prometheus first, on its own, so the dispatch below stays as it was.
case "$cmd $what" in
  "start prometheus") shift 2; start_prometheus "$@"; exit 0 ;;
  "stop prometheus") stop_prometheus; exit 0 ;;
  "prometheus-targets "*)
    shift; [ -d "$SERVICES_DIR/prometheus" ] || die "prometheus was not started here"
    prometheus_targets "$SERVICES_DIR/prometheus" "$@"; exit 0 ;;
esac
case "$cmd" in
  start|halt|resume)
    case "$what" in
      orthanc) [ "$cmd" = start ] || die "$cmd is for rabbitmq, postgresql and s3"; start_orthanc ;;
      rabbitmq|postgresql|s3) "${cmd}_$what" ;;
      *) die "usage: $0 $cmd orthanc|rabbitmq|postgresql|s3" ;;
    esac ;;
  stop)
    case "$what" in
      orthanc|rabbitmq|postgresql|s3) "stop_$what" ;;
      "") stop_orthanc; stop_rabbitmq; stop_postgresql; stop_s3; stop_prometheus ;;
      *) die "usage: $0 stop [orthanc|rabbitmq|postgresql|s3|prometheus]" ;;
    esac ;;
  status) status ;;
  rabbitmqctl)
    shift
    [ -f "$SERVICES_DIR/rabbitmq/ports" ] || die "rabbitmq was not started here"
    ( rabbitmq_env "$SERVICES_DIR/rabbitmq"; exec "$(rabbitmq_bin)/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" "$@" ) ;;
  orthanc-config)
    [ $# -ge 4 ] || die "usage: $0 orthanc-config DIR DICOM_PORT HTTP_PORT [QCPIPE_PORT]"
    orthanc_config "$2" "$3" "$4" "${5:-11112}" ;;
  *) die "usage: $0 start|stop|halt|resume NAME | stop | status | orthanc-config DIR DICOM_PORT HTTP_PORT [QCPIPE_PORT]" ;;
esac
