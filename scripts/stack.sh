#!/usr/bin/env bash
# The distributed topology on one machine, without Docker: RabbitMQ, PostgreSQL, an S3-compatible store (s3rver) and
# Prometheus from scripts/services.sh (Debian and npm packages, each on 127.0.0.1 with its data under the stack folder),
# then the service as four separate processes: a receiver, two workers and the API, sharing the broker, the database
# and the object store (Storage:Backend=S3), each with its own local spool folder.
#
# Usage:
#   scripts/stack.sh start     start everything (builds the service first when its Release build is missing), wait until
#                              each process is ready, print the addresses; the stack folder's stack.env holds them
#   scripts/stack.sh stop      stop the four processes and the services, delete the stack folder
#   scripts/stack.sh status    what runs, then stack.env
#
#   QC_STACK_DIR   the stack folder, default ${TMPDIR:-/tmp}/qc-stack (services under services/, logs and spools under
#                  receiver/, worker-1/, worker-2/, api/)
#   QC_STACK_WORKER_ARGS  extra arguments for both workers (e.g. --Bus:ConcurrentMessageLimit=2)
#
# stack.env (KEY=VALUE, `source`-able), beside the services' own lines (POSTGRES_*, RABBITMQ_*, S3_*, PROMETHEUS_*):
#   STACK_DICOM_PORT   the receiver's DICOM port (AE QCPIPE; C-STORE, C-ECHO, worklist C-FIND)
#   STACK_RECEIVER_URL the receiver's HTTP base (STOW-RS: POST /dicom-web/studies)
#   STACK_API_URL      the API's HTTP base (/api/*, QIDO-RS, WADO-RS, /api/docs)
#   STACK_WORKER1_URL, STACK_WORKER2_URL   the workers' HTTP bases (health and /metrics only)
#   STACK_<ROLE>_PID   process ids (RECEIVER, WORKER1, WORKER2, API)
# All HTTP listens on 127.0.0.1 only, so no API key is needed (see README, Authentication).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STACK_DIR="${QC_STACK_DIR:-${TMPDIR:-/tmp}/qc-stack}"
export QC_SERVICES_DIR="$STACK_DIR/services"
export QC_SERVICES_ENV="$STACK_DIR/stack.env"
SERVICES="$ROOT/scripts/services.sh"
DLL="$ROOT/src/QcPipeline.Service/bin/Release/net10.0/QcPipeline.Service.dll"
ROLES=(receiver worker-1 worker-2 api)

die() { echo "stack.sh: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
env_get() { [ -f "$QC_SERVICES_ENV" ] && sed -n "s/^$1=//p" "$QC_SERVICES_ENV" | tail -n 1; }
key() { local k="${1^^}"; echo "${k//-/}"; } # worker-1 -> WORKER1

# launch NAME ROLES HTTP_PORT [more args]: one service process in its own session, its log and spool under NAME/.
launch() {
  local name=$1 roles=$2 http=$3; shift 3
  local dir="$STACK_DIR/$name"
  mkdir -p "$dir/data"
  # The shared parts come as environment variables, the form a container gets them in (docs/operations.md).
  (
    export QC__Service__Roles="$roles"
    export QC__Http__Urls="http://127.0.0.1:$http"
    export QC__Storage__DataPath="$dir/data"
    export QC__Storage__Backend=S3
    export QC__Storage__S3__ServiceUrl="$S3_URL" QC__Storage__S3__Bucket="$S3_BUCKET" QC__Storage__S3__Region="$S3_REGION"
    export QC__Storage__S3__AccessKey="$S3_ACCESS_KEY" QC__Storage__S3__SecretKey="$S3_SECRET_KEY" QC__Storage__S3__ForcePathStyle=true
    export QC__Database__Provider=Postgres QC__Database__ConnectionString="Host=$POSTGRES_HOST;Port=$POSTGRES_PORT;Username=$POSTGRES_USER;Password=$POSTGRES_PASSWORD;Database=$POSTGRES_DB"
    export QC__Bus__Transport=RabbitMq QC__Bus__RabbitMq__Host="$RABBITMQ_HOST" QC__Bus__RabbitMq__Port="$RABBITMQ_PORT"
    export QC__Bus__RabbitMq__Username="$RABBITMQ_USER" QC__Bus__RabbitMq__Password="$RABBITMQ_PASSWORD"
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
    cd "$dir"
    exec setsid dotnet "$DLL" "$@" >"$dir/service.log" 2>&1 </dev/null
  ) &
  echo $! >"$dir/pid"
}

wait_ready() { # NAME URL
  local name=$1 url=$2 pid; pid=$(cat "$STACK_DIR/$name/pid")
  for _ in $(seq 1 1200); do
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$STACK_DIR/$name/service.log" >&2; die "$name exited during start"; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" || true)" = 200 ] && return 0
    sleep 0.1
  done
  tail -n 40 "$STACK_DIR/$name/service.log" >&2; die "$name did not become ready within 120 s"
}

start() {
  if [ -f "$STACK_DIR/receiver/pid" ] && kill -0 "$(cat "$STACK_DIR/receiver/pid")" 2>/dev/null; then
    echo "stack already running in $STACK_DIR"; status; return 0
  fi
  for tool in dotnet python3 curl setsid; do command -v "$tool" >/dev/null || die "$tool is missing"; done
  mkdir -p "$STACK_DIR"
  chmod 755 "$STACK_DIR" # the PostgreSQL cluster runs as the postgres user when we are root
  if [ ! -f "$DLL" ]; then
    echo "stack.sh: building the service (Release)"
    DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet build "$ROOT/src/QcPipeline.Service" -c Release -nologo -v q >/dev/null
  fi
  for svc in postgresql rabbitmq s3; do bash "$SERVICES" start "$svc" >/dev/null; done
  # shellcheck disable=SC1090
  source "$QC_SERVICES_ENV" 2>/dev/null # (POSTGRES_CONNECTION holds ';' and is not for bash: the parts are used)

  local dicom receiver w1 w2 api
  dicom=$(free_port); receiver=$(free_port); w1=$(free_port); w2=$(free_port); api=$(free_port)
  bash "$SERVICES" start prometheus "127.0.0.1:$receiver" "127.0.0.1:$w1" "127.0.0.1:$w2" "127.0.0.1:$api" >/dev/null

  # The receiver first: it migrates the database (the others would wait on the migration lock anyway) and declares the
  # analysis queue. Workers run one analysis at a time each, like workers in 1-CPU containers.
  launch receiver receiver "$receiver" --Dicom:Port="$dicom" --Dicom:BindAddress=127.0.0.1
  wait_ready receiver "http://127.0.0.1:$receiver"
  # shellcheck disable=SC2086
  launch worker-1 worker "$w1" --Bus:ConcurrentMessageLimit=1 --Bus:PrefetchCount=1 ${QC_STACK_WORKER_ARGS:-}
  # shellcheck disable=SC2086
  launch worker-2 worker "$w2" --Bus:ConcurrentMessageLimit=1 --Bus:PrefetchCount=1 ${QC_STACK_WORKER_ARGS:-}
  launch api api "$api"
  wait_ready worker-1 "http://127.0.0.1:$w1"
  wait_ready worker-2 "http://127.0.0.1:$w2"
  wait_ready api "http://127.0.0.1:$api"

  {
    echo "STACK_DICOM_PORT=$dicom"
    echo "STACK_RECEIVER_URL=http://127.0.0.1:$receiver"
    echo "STACK_WORKER1_URL=http://127.0.0.1:$w1"
    echo "STACK_WORKER2_URL=http://127.0.0.1:$w2"
    echo "STACK_API_URL=http://127.0.0.1:$api"
    for name in "${ROLES[@]}"; do echo "STACK_$(key "$name")_PID=$(cat "$STACK_DIR/$name/pid")"; done
  } >>"$QC_SERVICES_ENV"
  cat <<EOF
stack started in $STACK_DIR
  DICOM (receiver)  127.0.0.1:$dicom  AE QCPIPE
  STOW-RS           http://127.0.0.1:$receiver/dicom-web/studies
  API               http://127.0.0.1:$api/api/devices   (reference: /api/docs)
  workers           http://127.0.0.1:$w1/metrics  http://127.0.0.1:$w2/metrics
  Prometheus        $(env_get PROMETHEUS_URL)
  RabbitMQ          amqp://127.0.0.1:$RABBITMQ_PORT   PostgreSQL  127.0.0.1:$POSTGRES_PORT   S3  $S3_URL (bucket $S3_BUCKET)
  addresses: $QC_SERVICES_ENV   logs: $STACK_DIR/<role>/service.log
EOF
}

stop() {
  local name pid
  for name in "${ROLES[@]}"; do
    [ -f "$STACK_DIR/$name/pid" ] || continue
    pid=$(cat "$STACK_DIR/$name/pid")
    kill "$pid" 2>/dev/null || true
  done
  for name in "${ROLES[@]}"; do
    [ -f "$STACK_DIR/$name/pid" ] || continue
    pid=$(cat "$STACK_DIR/$name/pid")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  [ -d "$QC_SERVICES_DIR" ] && bash "$SERVICES" stop >/dev/null 2>&1 || true
  rm -rf "$STACK_DIR"
  echo "stack stopped"
}

status() {
  local name pid
  for name in "${ROLES[@]}"; do
    pid=$(cat "$STACK_DIR/$name/pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$name: running (pid $pid)"; else echo "$name: not running"; fi
  done
  [ -d "$QC_SERVICES_DIR" ] && bash "$SERVICES" status || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/stack.sh start|stop|status" >&2; exit 2 ;;
esac
