#!/usr/bin/env bash
# STOW-RS throughput, all on this machine: N uncompressed 512x512 CT images (about 525 kB each) are packed into
# multipart/related bodies of BATCH instances each, and C clients (curl, one body at a time each) post them at once to
#   qcpipe   our service: POST /dicom-web/studies (fsync + atomic rename + index commit before the response)
#   orthanc  Orthanc from Debian with its DICOMweb plugin: POST /dicom-web/studies
#   qcpipe-nofsync  the service with Storage:Fsync=false (only with RECEIVERS=...: what the fsyncs cost)
# each with a fresh data folder. Each client is one curl process that posts its bodies one after the other on one
# kept-alive connection. Each receiver first gets an untimed warm-up (C clients at once, one body of 50 other instances
# each) and a 2 s pause: the figures are steady-state throughput, as a long-running service sees it, not .NET's JIT
# compilation (until 2026-12-03: one curl process per body, and a warm-up of one body from one client).
# Prints instances/s per receiver, the ratio, and the service's peak resident memory.
#
# Usage: scripts/bench/stow.sh [N] [BATCH] [C]      (default 1000 50 4)
#        RECEIVERS=qcpipe scripts/bench/stow.sh       only some receivers (RECEIVERS=none: none, e.g. with BIG=1)
#        PERF=FILE scripts/bench/stow.sh              a system-wide perf CPU profile of the timed window (receivers, curl,
#                                                     kernel) in FILE.RECEIVER (perf report -i ...; .NET symbols from
#                                                     DOTNET_PerfMapEnabled=1, which the script sets for the service)
#        BIG=1 scripts/bench/stow.sh                  also: 4 clients each posting one ~1 GB body (2000 images) to the
#                                                     service, chunked; prints its peak memory
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-1000}"
BATCH="${2:-50}"
C="${3:-4}"
RECEIVERS="${RECEIVERS:-qcpipe orthanc}"
WORK="$(mktemp -d -t qc-stow-XXXXXX)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ -n "${PERF:-}" ]; then export DOTNET_PerfMapEnabled=1; fi
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v curl >/dev/null || { echo "curl missing: apt-get install -y curl" >&2; exit 1; }
dotnet build tests/QcPipeline.Benchmarks -c Release -nologo -v q >/dev/null
dotnet build src/QcPipeline.Service -c Release -nologo -v q >/dev/null
BENCH="dotnet tests/QcPipeline.Benchmarks/bin/Release/net10.0/QcPipeline.Benchmarks.dll"
SERVICE_DLL="src/QcPipeline.Service/bin/Release/net10.0/QcPipeline.Service.dll"
BOUNDARY="qc-bench-boundary-7d1f"
CT="multipart/related; type=\"application/dicom\"; boundary=$BOUNDARY"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
now() { date +%s%N; }

# Bodies: client k gets bodies $WORK/body/k/NNN.mpr of BATCH files each, its files in turn.
make_bodies() { # SRC_GLOB_DIR OUT_DIR BATCH CLIENTS
  python3 - "$@" "$BOUNDARY" <<'PY'
import os, sys
src, out, batch, clients, boundary = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".dcm"))
chunks = [files[i:i + batch] for i in range(0, len(files), batch)]
for n, chunk in enumerate(chunks):
    d = os.path.join(out, str(n % clients)); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"{n:04d}.mpr"), "wb") as w:
        for f in chunk:
            w.write(b"--" + boundary + b"\r\nContent-Type: application/dicom\r\n\r\n")
            with open(f, "rb") as r: w.write(r.read())
            w.write(b"\r\n")
        w.write(b"--" + boundary + b"--\r\n")
PY
}

echo "generating $N CT images and bodies of $BATCH for $C clients in $WORK"
$BENCH --generate-ct "$WORK/in" "$N" 0
make_bodies "$WORK/in" "$WORK/body" "$BATCH" "$C"
$BENCH --generate-ct "$WORK/warm" $((50 * C)) 900000
make_bodies "$WORK/warm" "$WORK/warmbody" 50 "$C"
BYTES=$(du -cb "$WORK"/in/*.dcm | tail -1 | cut -f1)
echo "files: $N, $((BYTES / 1000000)) MB, bodies: $(find "$WORK/body" -name '*.mpr' | wc -l)"

wait_http() { # URL
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "$1 did not answer" >&2; return 1
}

orthanc_plugin() {
  local so; so=$(dpkg -L orthanc-dicomweb 2>/dev/null | grep -E '/libOrthancDicomWeb\.so$' | head -n 1 || true)
  [ -n "$so" ] || so=$(ls /usr/share/orthanc/plugins/libOrthancDicomWeb.so 2>/dev/null || true)
  [ -n "$so" ] || { echo "orthanc-dicomweb is not installed (apt-get install -y orthanc orthanc-dicomweb)" >&2; exit 1; }
  echo "$so"
}

start_receiver() { # NAME DATADIR -> sets URL, RPID
  local name=$1 data=$2 http; http=$(free_port)
  mkdir -p "$data"
  case "$name" in
    qcpipe|qcpipe-nofsync)
      local fsync=true; [ "$name" = qcpipe-nofsync ] && fsync=false
      QC__Pipeline__SweeperEnabled=false QC__Storage__Fsync=$fsync QC__Dicom__Port="$(free_port)" QC__Storage__DataPath="$data" QC__Http__Urls="http://127.0.0.1:$http" \
        Logging__LogLevel__Default=Warning dotnet "$SERVICE_DLL" >"$data.log" 2>&1 &
      RPID=$!; URL="http://127.0.0.1:$http/dicom-web/studies"; wait_http "http://127.0.0.1:$http/health/ready" ;;
    orthanc)
      cat >"$data.json" <<JSON
{ "Name": "bench", "StorageDirectory": "$data/storage", "IndexDirectory": "$data/index",
  "DicomAet": "ORTHANC", "DicomPort": $(free_port), "HttpPort": $http, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "Plugins": [ "$(orthanc_plugin)" ], "HttpServerEnabled": true,
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/" } }
JSON
      Orthanc "$data.json" >"$data.log" 2>&1 &
      RPID=$!; URL="http://127.0.0.1:$http/dicom-web/studies"; wait_http "http://127.0.0.1:$http/system" ;;
  esac
  PIDS+=("$RPID")
}

cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; } # user, system (clock ticks) of a process

stop_receiver() { kill "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; }

post_all() { # DIR URL LOG [chunked]: one curl process per client, posting its bodies one after the other on one
  # kept-alive connection, as a forwarding PACS does (one process per body would add a process start-up per body to the
  # clients' share of the two cores)
  local dir=$1 url=$2 log=$3 extra=() args=() b name
  [ "${4:-}" = chunked ] && extra=(-H "Transfer-Encoding: chunked")
  for b in "$dir"/*.mpr; do
    name=$(basename "$b")
    [ ${#args[@]} -eq 0 ] || args+=(--next)
    args+=(-sS -o "$log.$name.resp" -w "$name %{http_code}\n" -X POST -H "Content-Type: $CT" -H "Accept: application/dicom+json"
      "${extra[@]}" -T "$b" "$url")
  done
  curl "${args[@]}" >>"$log" || true
  awk '$2 != 200' "$log" | while read -r name code; do
    echo "POST $name answered $code" >&2; head -c 400 "$log.$name.resp" >&2 2>/dev/null || true; echo >&2
  done
}

post_clients() { # BODYDIR URL LOGPREFIX: C clients at once, client k posting the bodies in BODYDIR/k
  local pids=() k p
  for k in $(seq 0 $((C - 1))); do post_all "$1/$k" "$2" "$3$k.log" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
}

declare -A RATE
[ "$RECEIVERS" = none ] && RECEIVERS=""
for r in $RECEIVERS; do
  data="$WORK/$r"; start_receiver "$r" "$data"
  # Warm-up: C clients at once, one body of 50 other instances each, then a pause for the JIT's background tier-up.
  post_clients "$WORK/warmbody" "$URL" "$data.warm"
  sleep 2
  cpu0=$(cpu_ticks "$RPID"); perf_pid=""
  if [ -n "${PERF:-}" ]; then perf record -q -F 499 -g -a -o "$PERF.$r" >/dev/null 2>&1 & perf_pid=$!; sleep 0.5; fi
  t0=$(now)
  post_clients "$WORK/body" "$URL" "$data.client"
  t1=$(now); ms=$(( (t1 - t0) / 1000000 ))
  cpu1=$(cpu_ticks "$RPID")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || echo "perf record did not run (see perf_event_paranoid)" >&2; wait "$perf_pid" 2>/dev/null || true; fi
  ok=$(cat "$data".client*.log | awk '$2 == 200' | wc -l)
  [ "$(cat "$data".warm*.log | awk '$2 == 200' | wc -l)" = "$C" ] || echo "$r: a warm-up request failed" >&2
  hwm=""; [ "${r%-nofsync}" = qcpipe ] && hwm=$(grep VmHWM "/proc/$RPID/status" | awk '{printf "peak RSS %d MB", $2/1024}')
  stop_receiver
  RATE[$r]=$(awk -v n="$N" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')
  cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$N" -v hz="$(getconf CLK_TCK)" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "CPU per instance %.2f ms (%.2f user, %.2f system)", ((y[1]-x[1])+(y[2]-x[2])) * 1000 / hz / n, (y[1]-x[1]) * 1000 / hz / n, (y[2]-x[2]) * 1000 / hz / n }')
  printf "%-8s %d clients, batches of %d: %6d ms  %5s inst/s  requests answered 200: %d  %s  %s\n" "$r" "$C" "$BATCH" "$ms" "${RATE[$r]}" "$ok" "$cpu" "$hwm"
  rm -rf "$data"
done
if [ -n "${RATE[qcpipe]:-}" ] && [ -n "${RATE[orthanc]:-}" ]; then
  awk -v q="${RATE[qcpipe]}" -v o="${RATE[orthanc]}" 'BEGIN { printf "ratio qcpipe/orthanc: %.2fx\n", q / o }'
fi

if [ "${BIG:-0}" = 1 ]; then
  echo "generating 4 bodies of 2000 images (~1 GB each)"
  rm -rf "$WORK/body" "$WORK/in"
  $BENCH --generate-ct "$WORK/big" 8000 100000
  make_bodies "$WORK/big" "$WORK/bigbody" 2000 4
  rm -rf "$WORK/big"
  data="$WORK/qcpipe-big"; start_receiver qcpipe "$data"
  t0=$(now); cl=()
  for k in 0 1 2 3; do post_all "$WORK/bigbody/$k" "$URL" "$data.client$k.log" chunked & cl+=($!); done
  for p in "${cl[@]}"; do wait "$p"; done
  t1=$(now)
  echo "4 concurrent ~1 GB chunked bodies into qcpipe: $(( (t1 - t0) / 1000000 )) ms, $(find "$data/instances" -name '*.dcm' | wc -l) files, peak RSS $(grep VmHWM "/proc/$RPID/status" | awk '{printf "%d MB", $2/1024}')"
  stop_receiver
fi
