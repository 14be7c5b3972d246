#!/usr/bin/env bash
# Throwaway service instances on loopback for integration tests and benchmarks.
#
# Usage:
#   scripts/services.sh start orthanc      start Orthanc on free loopback ports; waits until its REST API answers
#   scripts/services.sh stop orthanc       stop it and delete its data
#   scripts/services.sh stop               stop every service started here
#   scripts/services.sh status             state of each service, then the env file
#   scripts/services.sh orthanc-config DIR DICOM_PORT HTTP_PORT [QCPIPE_PORT]
#                                          print Orthanc's configuration JSON (data under DIR); the .NET test
#                                          fixture (OrthancFixture) uses this too, so both run the same Orthanc
#   (rabbitmq, postgresql: reserved names, same layout; not implemented yet)
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

status() {
  local pid url
  pid=$(env_get ORTHANC_PID || true); url=$(env_get ORTHANC_URL || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && curl -fsS --max-time 2 "$url/system" >/dev/null 2>&1; then
    echo "orthanc: running (pid $pid, $url)"
  else
    echo "orthanc: not running"
  fi
  echo "rabbitmq: not managed yet"
  echo "postgresql: not managed yet"
  if [ -s "$ENV_FILE" ]; then echo "--- $ENV_FILE"; cat "$ENV_FILE"; fi
}

cmd="${1:-}"; what="${2:-}"
case "$cmd" in
  start)
    case "$what" in
      orthanc) start_orthanc ;;
      rabbitmq|postgresql) die "$what is not managed yet" ;;
      *) die "usage: $0 start orthanc" ;;
    esac ;;
  stop)
    case "$what" in
      orthanc|"") stop_orthanc ;;
      rabbitmq|postgresql) die "$what is not managed yet" ;;
      *) die "usage: $0 stop [orthanc]" ;;
    esac ;;
  status) status ;;
  orthanc-config)
    [ $# -ge 4 ] || die "usage: $0 orthanc-config DIR DICOM_PORT HTTP_PORT [QCPIPE_PORT]"
    orthanc_config "$2" "$3" "$4" "${5:-11112}" ;;
  *) die "usage: $0 start|stop orthanc | status | orthanc-config DIR DICOM_PORT HTTP_PORT [QCPIPE_PORT]" ;;
esac
