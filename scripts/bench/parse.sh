#!/usr/bin/env bash
# Times reading N generated 512x512 CT files: one QcPipeline process (header-only pass + whole pass with pixels
# summed) against a bash loop of DCMTK's dcmdump -q over the same files. Usage: scripts/bench/parse.sh [N] [DIR]
# Then `qc json` over all N files (one process) against a bash loop of DCMTK's dcm2json (pixel data inline in both).
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-1000}"
DIR="${2:-$(mktemp -d -t qc-bench-ct-XXXXXX)}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v dcmdump >/dev/null || { echo "dcmdump missing: apt-get install -y dcmtk" >&2; exit 1; }
dotnet build tests/QcPipeline.Benchmarks -c Release -nologo -v q >/dev/null
dotnet build src/QcPipeline.Cli -c Release -nologo -v q >/dev/null
QC="dotnet src/QcPipeline.Cli/bin/Release/net10.0/qc.dll"
BENCH="dotnet tests/QcPipeline.Benchmarks/bin/Release/net10.0/QcPipeline.Benchmarks.dll"
mkdir -p "$DIR"
if [ "$(find "$DIR" -name '*.dcm' | wc -l)" -lt "$N" ]; then
  echo "generating $N CT files in $DIR"
  $BENCH --generate-ct "$DIR" "$N"
fi

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

t0=$(now); ours_out=$($BENCH --read-all "$DIR"); t1=$(now)
ours=$(ms "$t0" "$t1")
t0=$(now); for f in "$DIR"/*.dcm; do dcmdump -q "$f" >/dev/null; done; t1=$(now)
dcmtk=$(ms "$t0" "$t1")
t0=$(now); $QC json "$DIR"/*.dcm >/dev/null; t1=$(now)
qcjson=$(ms "$t0" "$t1")
t0=$(now); for f in "$DIR"/*.dcm; do dcm2json "$f" >/dev/null; done; t1=$(now)
dcm2json=$(ms "$t0" "$t1")

echo "files: $N in $DIR"
echo "qcpipeline --read-all (1 process, header-only + whole): ${ours} ms   [$ours_out]"
echo "dcmdump -q loop (N processes):                        ${dcmtk} ms"
awk -v a="$dcmtk" -v b="$ours" 'BEGIN { printf "ratio dcmdump/qcpipeline: %.1fx\n", a / b }'
echo "qc json (1 process):                                  ${qcjson} ms"
echo "dcm2json loop (N processes):                          ${dcm2json} ms"
awk -v a="$dcm2json" -v b="$qcjson" 'BEGIN { printf "ratio dcm2json/qc json: %.1fx\n", a / b }'
