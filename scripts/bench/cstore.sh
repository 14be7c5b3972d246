#!/usr/bin/env bash
# C-STORE throughput, all on this machine: DCMTK storescu sends N uncompressed 512x512 CT images (about 525 kB each)
# to three receivers in turn, each with a fresh data folder:
#   qcpipe   our service (fsync + atomic rename + index commit before every success response)
#   floor    the toolkit's acceptor alone writing files (no fsync, no checks, no index): the network path's cost
#   qcpipe-nofsync  the same with Storage:Fsync=false (only with RECEIVERS=..., for a like-for-like comparison with storescp)
#   storescp DCMTK storescp writing to disk (-od; with --fork for concurrent associations; no fsync)
#   orthanc  Orthanc from Debian (its defaults: files + SQLite index)
# over one association and over 4 concurrent associations (N/4 files each). Both ends run with TCP_NODELAY=1.
# Prints instances/s per receiver and the ratios; the service's peak resident memory (VmHWM) is printed too.
# Each receiver first gets 50 untimed warm-up instances (other UIDs): the figures are steady-state throughput, as a
# long-running service sees it, not .NET's first-call JIT compilation.
#
# Usage: scripts/bench/cstore.sh [N]            (default 1000)
#        BIG=1 scripts/bench/cstore.sh          also: 4 concurrent associations each sending a ~1 GB study
#                                               (2000 images) to the service; prints its peak memory
#        RECEIVERS="qcpipe storescp" scripts/bench/cstore.sh 300
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-1000}"
RECEIVERS="${RECEIVERS:-qcpipe storescp orthanc}"
WORK="$(mktemp -d -t qc-cstore-XXXXXX)"
export TCP_NODELAY=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in storescu storescp echoscu; do command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install -y dcmtk" >&2; exit 1; }; done
dotnet build tests/QcPipeline.Benchmarks -c Release -nologo -v q >/dev/null
case " $RECEIVERS ${BIG:-} " in *" qcpipe"*|*" 1 "*) dotnet build src/QcPipeline.Service -c Release -nologo -v q >/dev/null ;; esac
BENCH="dotnet tests/QcPipeline.Benchmarks/bin/Release/net10.0/QcPipeline.Benchmarks.dll"
SERVICE_DLL="src/QcPipeline.Service/bin/Release/net10.0/QcPipeline.Service.dll"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
now() { date +%s%N; }

echo "generating $N CT images in $WORK/in"
for i in 0 1 2 3; do $BENCH --generate-ct "$WORK/in/$i" $((N / 4)) $((i * N / 4)); done
$BENCH --generate-ct "$WORK/warm" 50 900000
FILES=("$WORK"/in/*/*.dcm)
BYTES=$(du -cb "${FILES[@]}" | tail -1 | cut -f1)
echo "files: ${#FILES[@]}, $((BYTES / 1000000)) MB"

wait_echo() { # AE PORT
  for _ in $(seq 1 200); do
    echoscu -to 2 -aec "$1" 127.0.0.1 "$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "receiver $1 on port $2 did not answer C-ECHO" >&2; return 1
}

SERVICE_PID=""
start_receiver() { # NAME DATADIR PORT -> sets AE, RPID
  local name=$1 data=$2 port=$3
  mkdir -p "$data"
  case "$name" in
    qcpipe|qcpipe-nofsync)
      AE=QCPIPE
      local fsync=true; [ "$name" = qcpipe-nofsync ] && fsync=false
      QC__Pipeline__SweeperEnabled=false QC__Storage__Fsync=$fsync QC__Dicom__Port=$port QC__Storage__DataPath="$data" QC__Http__Urls="http://127.0.0.1:$(free_port)" \
        Logging__LogLevel__Default=Warning dotnet "$SERVICE_DLL" >"$data.log" 2>&1 &
      RPID=$!; SERVICE_PID=$RPID ;;
    floor)
      # The toolkit's acceptor writing each data set to a file, no fsync, no index: the network path alone.
      AE=QCPIPE
      dotnet tests/QcPipeline.Benchmarks/bin/Release/net10.0/QcPipeline.Benchmarks.dll --scp-floor "$port" "$data" >"$data.log" 2>&1 &
      RPID=$! ;;
    storescp)
      AE=STORESCP
      storescp --fork -od "$data" -aet STORESCP +xa "$port" >"$data.log" 2>&1 &
      RPID=$! ;;
    orthanc)
      AE=ORTHANC
      local http; http=$(free_port)
      cat >"$data.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$data/storage", "IndexDirectory": "$data/index",
  "DicomAet": "ORTHANC", "DicomPort": $port, "HttpPort": $http, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "DicomAlwaysAllowStore": true, "DicomCheckCalledAet": false,
  "Plugins": [], "HttpServerEnabled": true, "ConcurrentJobs": 2 }
EOF
      Orthanc "$data.json" >"$data.log" 2>&1 &
      RPID=$! ;;
  esac
  PIDS+=("$RPID")
  wait_echo "$AE" "$port"
}

stop_receiver() { kill "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; }

declare -A RATE
run() { # NAME ASSOCS
  local name=$1 assocs=$2 port data t0 t1
  port=$(free_port); data="$WORK/$name-$assocs"
  start_receiver "$name" "$data" "$port"
  storescu -aec "$AE" 127.0.0.1 "$port" "$WORK"/warm/*.dcm >"$data.warm.log" 2>&1 || echo "$name: the warm-up failed (see $data.warm.log)" >&2
  t0=$(now)
  if [ "$assocs" = 1 ]; then
    storescu -aec "$AE" 127.0.0.1 "$port" "${FILES[@]}" >"$data.scu.log" 2>&1 || { echo "storescu failed, see $data.scu.log" >&2; tail -5 "$data.scu.log" >&2; }
  else
    local scu=()
    for i in 0 1 2 3; do
      storescu -aec "$AE" 127.0.0.1 "$port" "$WORK"/in/$i/*.dcm >"$data.scu$i.log" 2>&1 &
      scu+=($!)
    done
    for p in "${scu[@]}"; do wait "$p" || echo "a storescu failed (see $data.scu*.log)" >&2; done
  fi
  t1=$(now)
  local ms=$(( (t1 - t0) / 1000000 ))
  local stored
  # less the 50 warm-up files
  stored=$(( $(find "$data" -type f \( -name '*.dcm' -o -path '*/storage/*' -o -name 'CT.*' \) | grep -vE '\.(json|db|log)$|index' | wc -l) - 50 ))
  local hwm=""
  if [ "${name%-nofsync}" = qcpipe ]; then hwm=$(grep VmHWM "/proc/$RPID/status" | awk '{printf "%d MB", $2/1024}'); fi
  stop_receiver
  RATE[$name-$assocs]=$(awk -v n="${#FILES[@]}" -v ms="$ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')
  printf "%-9s %d assoc: %6d ms  %5s inst/s  files on disk %5d  %s\n" "$name" "$assocs" "$ms" "${RATE[$name-$assocs]}" "$stored" "${hwm:+peak RSS $hwm}"
  rm -rf "$data"
}

for assocs in 1 4; do
  for r in $RECEIVERS; do run "$r" "$assocs"; done
done

for assocs in 1 4; do
  q=${RATE[qcpipe-$assocs]:-}
  [ -n "$q" ] || continue
  for r in storescp orthanc; do
    o=${RATE[$r-$assocs]:-}
    [ -n "$o" ] && awk -v q="$q" -v o="$o" -v r="$r" -v a="$assocs" 'BEGIN { printf "ratio qcpipe/%s (%d assoc): %.2fx\n", r, a, q / o }'
  done
done

if [ "${BIG:-0}" = 1 ]; then
  echo "generating 4 studies of 2000 images (~1 GB each)"
  for i in 0 1 2 3; do $BENCH --generate-ct "$WORK/big/$i" 2000 $((100000 + i * 2000)); done
  port=$(free_port); data="$WORK/qcpipe-big"
  start_receiver qcpipe "$data" "$port"
  t0=$(now); scu=()
  for i in 0 1 2 3; do storescu -aec QCPIPE 127.0.0.1 "$port" "$WORK"/big/$i/*.dcm >"$data.scu$i.log" 2>&1 & scu+=($!); done
  for p in "${scu[@]}"; do wait "$p" || echo "a storescu failed" >&2; done
  t1=$(now)
  echo "4 concurrent 1 GB studies into qcpipe: $(( (t1 - t0) / 1000000 )) ms, $(find "$data/instances" -name '*.dcm' | wc -l) files, peak RSS $(grep VmHWM "/proc/$RPID/status" | awk '{printf "%d MB", $2/1024}')"
  stop_receiver
fi
