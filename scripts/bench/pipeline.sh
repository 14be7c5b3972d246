#!/usr/bin/env bash
# The pipeline end to end, all on this machine: a private RabbitMQ and PostgreSQL (scripts/services.sh) and the service as
# separate processes (--roles receiver, --roles worker), sharing one data folder.
#   (a) latency: a 100-slice simulated CT water series (qc phantom ct-water, each run under new UIDs) is sent by storescu;
#       latency = its last result's AnalyzedAt - the commit time of its last instance (Series.LastInstanceAt), both taken
#       by the service; RUNS runs, one worker; p50, p95, max. Goal: p95 <= quiet period + 1 s.
#   (b) scaling: SERIES series of SLICES slices (CPU-bound CT water analyses) are stored and claimed with no worker running
#       (their commands wait in the worker queue), then 1, resp. 2, worker processes are started; throughput = the series
#       started after every worker has finished WARMUP series / (last AnalyzedAt - that moment): steady state, as a
#       long-running worker sees it, without process start-up and JIT warm-up. (The figure from the first analysis on,
#       warm-up included, is printed too.) Each worker is a 1-CPU worker, as in
#       a container with a 1-CPU limit: pinned to its own core with taskset (worker N on core N-1), so .NET sees one
#       processor (workstation GC, no parallel GC threads on the other core), and Bus:ConcurrentMessageLimit=1,
#       Bus:PrefetchCount=1. Unpinned, one worker process already uses both cores of this machine during its garbage
#       collections (server GC), and a second process has no core left to add. Goal: ratio >= 1.6.
# Instance files are written without fsync (Storage:Fsync=false): the receive path has its own benchmarks. In (b) they
# are flushed (sync) before the workers start, as a service with fsync on would have them.
#
# Usage: scripts/bench/pipeline.sh [RUNS] [SERIES] [SLICES]     (default 20 120 100)
#        QUIET=00:00:02 SWEEP=00:00:01 scripts/bench/pipeline.sh  quiet period and sweep interval (defaults: 2 s, the service's)
#        PART=latency|scaling                                    only one part
#        KEEP=1                                                  keep the work folder (the services' logs) afterwards
#        PERF=DIR                                                scaling: a perf CPU profile of each worker in DIR
#                                                                (perf report -i DIR/rR-wW-PID.data; JIT symbols from
#                                                                DOTNET_PerfMapEnabled=1, /tmp/perf-PID.map)
#        WARMUP=24                                               scaling: series each worker analyses before the
#                                                                measured window opens (JIT tier-up; see below)
#        ROUNDS=3                                                scaling: rounds of (1 worker, 2 workers), one after the
#                                                                other; the ratio reported is the median of the rounds'
#                                                                ratios (this shared VM's speed drifts between minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
RUNS="${1:-20}"
SERIES="${2:-120}"
SLICES="${3:-100}"
QUIET="${QUIET:-00:00:02}"
SWEEP="${SWEEP:-}"
PART="${PART:-all}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-24}"
WORK="$(mktemp -d -t qc-pipe-XXXXXX)"
chmod 755 "$WORK" # the PostgreSQL cluster runs as the postgres user when we are root
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export QC_SERVICES_DIR="$WORK/services"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$ROOT/scripts/services.sh" stop >/dev/null 2>&1 || true
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK (logs: $WORK/*.log)" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

for tool in storescu dcmodify psql curl python3; do command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install -y dcmtk postgresql-client curl)" >&2; exit 1; }; done
dotnet build src/QcPipeline.Service -c Release -nologo -v q >/dev/null
dotnet build src/QcPipeline.Cli -c Release -nologo -v q >/dev/null
SERVICE_DLL="$ROOT/src/QcPipeline.Service/bin/Release/net10.0/QcPipeline.Service.dll"
QC="dotnet $ROOT/src/QcPipeline.Cli/bin/Release/net10.0/qc.dll"

bash scripts/services.sh start postgresql >/dev/null
bash scripts/services.sh start rabbitmq >/dev/null
# shellcheck disable=SC1091
source "$QC_SERVICES_DIR/services.env"
PGURL="postgresql://$POSTGRES_USER:$POSTGRES_PASSWORD@$POSTGRES_HOST:$POSTGRES_PORT"
q() { psql -X -q -At "$PGURL/$DB" -c "$1"; } # SQL on the current run's database

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
now() { date +%s.%N; }

# A fresh database, RabbitMQ virtual host and data folder: sets DB, VHOST, DATA.
fresh() {
  local n=$1
  DB="bench_$n"; VHOST="bench_$n"; DATA="$WORK/data_$n"
  psql -X -q "$PGURL/$POSTGRES_DB" -c "CREATE DATABASE $DB" >/dev/null
  bash scripts/services.sh rabbitmqctl add_vhost "$VHOST" >/dev/null
  bash scripts/services.sh rabbitmqctl set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null
  mkdir -p "$DATA"
}

# launch ROLES LOG [extra args...]: starts a process; sets SPID, HTTP (and DICOM_PORT, used by a receiver).
launch() {
  local roles=$1 log=$2; shift 2
  HTTP=$(free_port); DICOM_PORT=$(free_port)
  local sweep=(); [ -n "$SWEEP" ] && sweep=("--Pipeline:SweepInterval=$SWEEP")
  local pin=(); [ -n "${CPU:-}" ] && pin=(taskset -c "$CPU")
  local perfmap=(); [ -n "${PERF:-}" ] && perfmap=(env DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0)
  "${pin[@]}" "${perfmap[@]}" dotnet "$SERVICE_DLL" --roles "$roles" --Storage:DataPath="$DATA" --Storage:Fsync=false \
    --Dicom:Port="$DICOM_PORT" --Http:Urls="http://127.0.0.1:$HTTP" \
    --Database:Provider=Postgres --Database:ConnectionString="Host=$POSTGRES_HOST;Port=$POSTGRES_PORT;Username=$POSTGRES_USER;Password=$POSTGRES_PASSWORD;Database=$DB" \
    --Bus:Transport=RabbitMq --Bus:RabbitMq:Host="$RABBITMQ_HOST" --Bus:RabbitMq:Port="$RABBITMQ_PORT" --Bus:RabbitMq:VirtualHost="$VHOST" \
    --Pipeline:QuietPeriod="$QUIET" "${sweep[@]}" --Logging:LogLevel:Default=Warning --Logging:LogLevel:QcPipeline.Service.ServiceHost=Information \
    "$@" >"$log" 2>&1 &
  SPID=$!; PIDS+=("$SPID")
}

# ready PID HTTP LOG: waits for its "Service started" line, then for its bus to be connected with its endpoints bound.
ready() {
  local pid=$1 http=$2 log=$3
  for _ in $(seq 1 600); do
    grep -q "Service started" "$log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "process $pid exited" >&2; exit 1; }
    sleep 0.1
  done
  for _ in $(seq 1 600); do
    curl -fsS "http://127.0.0.1:$http/health/ready" 2>/dev/null | grep -q '"bus":{"status":"Healthy"' && return 0
    sleep 0.1
  done
  cat "$log" >&2; echo "process $pid did not become ready" >&2; exit 1
}

start_service() { launch "$@"; ready "$SPID" "$HTTP" "$2"; }

stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }

# copy_series SRC DST: the files of SRC under new Study/Series/SOP Instance UIDs.
# UIDs made by one python start (a start per UID made the preparation take minutes).
mapfile -t UIDS < <(python3 -c 'import uuid; [print("2.25." + str(uuid.uuid4().int)) for _ in range(4000)]')
NEXT_UID=0
copy_series() {
  mkdir -p "$2"; cp "$1"/*.dcm "$2"/
  local study=${UIDS[NEXT_UID]} series=${UIDS[NEXT_UID + 1]}
  NEXT_UID=$((NEXT_UID + 2))
  dcmodify -nb -q -m "(0020,000D)=$study" -m "(0020,000E)=$series" -gin "$2"/*.dcm
}

GEN=$(( SLICES > 100 ? SLICES : 100 )) # the latency series has 100 slices; the scaling series are its first SLICES
echo "generating a ${GEN}-slice CT water phantom series (qc phantom ct-water) in $WORK"
$QC phantom ct-water --slices "$GEN" -o "$WORK/ctgen" --seed 11 >/dev/null
mkdir -p "$WORK/ct100" "$WORK/ctN"
# (An array, not "ls | sort | head": with pipefail, head closing the pipe early can end the script with SIGPIPE.)
gen_files=("$WORK/ctgen"/*.dcm) # sorted by the glob; names CT0001.dcm ...
cp "${gen_files[@]:0:100}" "$WORK/ct100/"
cp "${gen_files[@]:0:$SLICES}" "$WORK/ctN/"

# CPU seconds used so far by the PostgreSQL and RabbitMQ processes (user + system).
peer_cpu() {
  python3 - <<'PY'
import os
tck = os.sysconf("SC_CLK_TCK"); total = 0
for p in os.listdir("/proc"):
    if not p.isdigit(): continue
    try:
        comm = open(f"/proc/{p}/comm").read().strip()
        if comm.startswith(("postgres", "beam.smp", "epmd", "erl_child")):
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / tck
    except OSError:
        pass
print(total)
PY
}

percentile() { python3 -c 'import sys, math; v = sorted(float(x) for x in sys.stdin.read().split()); p = float(sys.argv[1]); print(f"{v[max(0, math.ceil(p / 100 * len(v)) - 1)]:.3f}")' "$1"; }
quiet_s=$(python3 -c 'import sys; h, m, s = sys.argv[1].split(":"); print(int(h) * 3600 + int(m) * 60 + float(s))' "$QUIET")

if [ "$PART" = all ] || [ "$PART" = latency ]; then
  fresh lat
  start_service receiver "$WORK/lat-receiver.log"; RECV_PORT=$DICOM_PORT
  start_service worker "$WORK/lat-worker.log"
  : >"$WORK/latencies"
  for i in $(seq 1 "$RUNS"); do
    copy_series "$WORK/ct100" "$WORK/lat/$i"
    series=$(dcmdump -q +P 0020,000E "$WORK/lat/$i/CT0001.dcm" | sed -n 's/.*\[\(.*\)\].*/\1/p')
    storescu -aec QCPIPE 127.0.0.1 "$RECV_PORT" "$WORK/lat/$i"/*.dcm
    for _ in $(seq 1 600); do
      [ "$(q "SELECT \"State\" FROM \"Series\" WHERE \"SeriesInstanceUid\" = '$series'")" = analyzed ] && break
      sleep 0.05
    done
    lat=$(q "SELECT extract(epoch FROM max(r.\"AnalyzedAt\") - s.\"LastInstanceAt\") FROM \"Results\" r JOIN \"Series\" s USING (\"SeriesInstanceUid\") WHERE r.\"SeriesInstanceUid\" = '$series' GROUP BY s.\"LastInstanceAt\"")
    [ -n "$lat" ] || { echo "run $i: no result" >&2; exit 1; }
    echo "$lat" >>"$WORK/latencies"
    rm -rf "$WORK/lat/$i"
  done
  p50=$(percentile 50 <"$WORK/latencies"); p95=$(percentile 95 <"$WORK/latencies"); max=$(percentile 100 <"$WORK/latencies")
  goal=$(python3 -c "print($quiet_s + 1)")
  echo "latency, last instance committed -> result stored, 100-slice CT series, $RUNS runs, quiet period ${quiet_s} s, sweep interval ${SWEEP:-default}:"
  echo "  p50 ${p50} s  p95 ${p95} s  max ${max} s   (goal p95 <= ${goal} s: $(python3 -c "print('met' if $p95 <= $goal else 'NOT met')"))"
  stop_all
fi

if [ "$PART" = all ] || [ "$PART" = scaling ]; then
  echo "preparing $SERIES series of $SLICES slices"
  for i in $(seq 1 "$SERIES"); do copy_series "$WORK/ctN" "$WORK/scale/$i"; done
  declare -A RATE
  RATIOS=()
  for round in $(seq 1 "$ROUNDS"); do
  for workers in 1 2; do
    fresh "w${workers}r$round"
    start_service receiver "$WORK/w$workers-receiver.log"
    storescu -aec QCPIPE 127.0.0.1 "$DICOM_PORT" "$WORK"/scale/*/*.dcm
    # Every series claimed and its command published (to the worker queue, which waits for the workers).
    for _ in $(seq 1 1200); do
      [ "$(q "SELECT count(*) FROM \"Series\" WHERE \"State\" = 'claimed'")" = "$SERIES" ] \
        && [ "$(q "SELECT count(*) FROM \"Outbox\" WHERE \"DispatchedAt\" IS NULL")" = 0 ] && break
      sleep 0.1
    done
    stop_all # the receiver: the workers get the machine to themselves
    # The receiver wrote the files without fsync (Storage:Fsync=false, to prepare faster); a service with the default
    # Storage:Fsync=true has them on disk before it acknowledges them. Flushed now, or the kernel's writeback of ~25 MB per
    # series (ext4 allocates the blocks then) runs during the measured span and takes the second core from the workers.
    dirty_kb=$(awk '/^Dirty:/ {print $2}' /proc/meminfo); t0=$(now); sync; echo "  sync before the workers: ${dirty_kb} kB dirty, $(python3 -c "print(f'{$(now) - $t0:.1f}')") s"
    # The workers are launched together (their start-up is not in the measured span anyway).
    started=()
    for w in $(seq 1 "$workers"); do
      CPU=$(( (w - 1) % $(nproc) )) launch worker "$WORK/w$workers-worker$w.log" --Bus:ConcurrentMessageLimit=1 --Bus:PrefetchCount=1
      started+=("$SPID:$HTTP:$WORK/w$workers-worker$w.log")
    done
    for s in "${started[@]}"; do IFS=: read -r pid http log <<<"$s"; ready "$pid" "$http" "$log"; done
    peers0=$(peer_cpu)
    PERFS=()
    if [ -n "${PERF:-}" ]; then # a CPU profile of each worker over the measured span (perf record, software clock)
      mkdir -p "$PERF"
      for s in "${started[@]}"; do IFS=: read -r pid _ _ <<<"$s"
        perf record -q -F 499 -e cpu-clock -g -p "$pid" -o "$PERF/r$round-w$workers-$pid.data" >/dev/null 2>&1 & PERFS+=("$!")
      done
    fi
    for _ in $(seq 1 3000); do
      [ "$(q "SELECT count(*) FROM \"Series\" WHERE \"State\" = 'analyzed'")" = "$SERIES" ] && break
      sleep 1 # the figures come from the service's own timestamps; polling less often leaves the CPU to the workers
    done
    [ "$(q "SELECT count(*) FROM \"Series\" WHERE \"State\" = 'analyzed'")" = "$SERIES" ] || { echo "not every series was analysed" >&2; exit 1; }
    for p in "${PERFS[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ -n "${PERF:-}" ]; then for s in "${started[@]}"; do IFS=: read -r pid _ _ <<<"$s"; cp -f "/tmp/perf-$pid.map" "$PERF/" 2>/dev/null || true; done; fi
    peers=$(python3 -c "print(f'{$(peer_cpu) - $peers0:.1f}')")
    analysis=$(q "SELECT round(avg(d)::numeric, 0) FROM (SELECT max(\"DurationMs\") AS d FROM \"Results\" GROUP BY \"ClaimId\") x")
    span=$(q "SELECT extract(epoch FROM max(\"AnalyzedAt\") - min(\"AnalyzedAt\" - make_interval(secs => \"DurationMs\" / 1000))) FROM \"Results\"")
    per_worker=$(q "SELECT string_agg(n::text, ' + ') FROM (SELECT count(DISTINCT \"SeriesInstanceUid\") AS n FROM \"Results\" GROUP BY \"Worker\") x")
    # CPU seconds the worker processes used (user + system, from /proc), start-up included: CPU per series shows whether
    # one analysis at a time really keeps a process on one core.
    cpu=""; tck=$(getconf CLK_TCK)
    for s in "${started[@]}"; do IFS=: read -r pid _ _ <<<"$s"; cpu="$cpu${cpu:+ + }$(python3 -c "f=open('/proc/$pid/stat').read().rsplit(')',1)[1].split(); print(f'{int(f[11]) / $tck:.1f} user {int(f[12]) / $tck:.1f} sys {int(f[7]) // 1000}k faults')")"; done
    cold=$(python3 -c "print(f'{$SERIES / $span * 60:.1f}')")
    # Steady state: the window starts when every worker has finished WARMUP series (its JIT has tiered up: a fresh .NET
    # process runs its first analyses in unoptimised, instrumented code, which costs each new process the same fixed
    # time and so weighs twice as much when each worker has half the series); it counts the series started inside it.
    IFS='|' read -r wcount wspan wmean < <(q "WITH c AS (SELECT \"ClaimId\", min(\"Worker\") AS w, max(\"AnalyzedAt\") AS e,
        min(\"AnalyzedAt\" - make_interval(secs => \"DurationMs\" / 1000)) AS s, max(\"DurationMs\") AS d FROM \"Results\" GROUP BY \"ClaimId\"),
      r AS (SELECT *, row_number() OVER (PARTITION BY w ORDER BY e) AS n FROM c),
      t AS (SELECT max(e) AS t0 FROM r WHERE n = $WARMUP)
      SELECT count(*), extract(epoch FROM max(e) - (SELECT t0 FROM t)), round(avg(d)::numeric, 0) FROM r WHERE s >= (SELECT t0 FROM t)")
    [ "${wcount:-0}" -ge 10 ] || { echo "too few series after the warm-up ($wcount): raise SERIES or lower WARMUP" >&2; exit 1; }
    RATE[$workers]=$(python3 -c "print(f'{$wcount / $wspan * 60:.1f}')")
    echo "round $round, $workers worker process(es): after $WARMUP warm-up series per worker, $wcount series in ${wspan} s = ${RATE[$workers]} series/min, mean analysis ${wmean} ms"
    echo "    (all $SERIES series from the first analysis, warm-up included: ${span} s = $cold series/min, mean analysis ${analysis} ms; series per worker: $per_worker; worker CPU s, start-up included: $cpu; PostgreSQL + RabbitMQ CPU ${peers} s)"
    stop_all
    rm -rf "$DATA" # its instance files (several GB with large SERIES and SLICES)
  done
  RATIOS+=("$(python3 -c "print(f'{${RATE[2]} / ${RATE[1]}:.2f}')")")
  echo "round $round: 2 workers / 1 worker = ${RATIOS[-1]}"
  done
  ratio=$(printf '%s\n' "${RATIOS[@]}" | percentile 50)
  echo "scaling: 2 workers / 1 worker, median of $ROUNDS rounds (${RATIOS[*]}) = $ratio (goal >= 1.6: $(python3 -c "print('met' if $ratio >= 1.6 else 'NOT met')"))"
fi
