#!/usr/bin/env bash
# The one test command (README): installs the Debian packages the tests use when they are missing,
# builds, and runs every test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need: DCMTK (reference peer and corpus builder), pydicom's bundled
# test files (real files written by others), the native JPEG-LS / JPEG 2000 decoders, OpenJPEG's encoder.
need=()
command -v dcmdump >/dev/null 2>&1 || need+=(dcmtk)
[ -d /usr/lib/python3/dist-packages/pydicom/data/test_files ] || need+=(python3-pydicom)
ldconfig -p | grep -q 'libcharls.so.2' || need+=(libcharls2)
ldconfig -p | grep -q 'libopenjp2.so.7' || need+=(libopenjp2-7)
command -v opj_compress >/dev/null 2>&1 || need+=(libopenjp2-tools)   # JPEG 2000 encoder for compressed-input tests
# Orthanc, the second real DICOM peer (its tests start their own instance on free loopback ports; so does scripts/services.sh).
{ command -v Orthanc >/dev/null 2>&1 || [ -x /usr/sbin/Orthanc ]; } || need+=(orthanc)
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need+=(orthanc-dicomweb)
# Trend report tests: a CJK TrueType font for the PDF, and poppler's pdfinfo/pdftotext/pdffonts/pdftoppm to check it.
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# PostgreSQL for the index tests: each test collection makes its own throwaway cluster with scripts/services.sh.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# RabbitMQ for the bus tests: likewise a private node per test collection.
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
# Prometheus's promtool (alert rule tests) and Alertmanager's amtool (routing check) for deploy/.
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# docker-compose (Debian's 1.29) to check deploy/docker-compose.yml; no container engine is needed for `config`.
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# Node and npm for s3rver, the S3-compatible server of the S3 instance-store tests (itself from npm, below).
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's orthanc, postgresql and rabbitmq-server packages may start their own services on install (Orthanc on
# 4242/8042, a cluster on 5432, a broker on 5672); the tests never use them, so they are stopped rather than left competing for the two cores.
for svc in orthanc postgresql rabbitmq-server prometheus prometheus-alertmanager prometheus-node-exporter; do
  if [ -x "/etc/init.d/$svc" ] && service "$svc" status >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  fi
done

# deploy/: the Prometheus configuration and alert rules (with their unit tests) and the Alertmanager routing.
promtool check config --syntax-only deploy/prometheus/prometheus.yml
promtool check rules deploy/prometheus/rules/*.yml
promtool test rules deploy/prometheus/tests/*.test.yml
amtool check-config deploy/alertmanager/alertmanager.yml >/dev/null
# The compose stack: with its built-in defaults and with the sample environment file (DeployComposeTests checks the references).
docker-compose -f deploy/docker-compose.yml config -q
docker-compose --env-file deploy/.env.example -f deploy/docker-compose.yml config -q

# s3rver, pinned by tools/s3rver/package-lock.json, into that folder (never globally); services.sh does the same when needed.
[ -x tools/s3rver/node_modules/.bin/s3rver ] || (cd tools/s3rver && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build QcPipeline.sln -c Release -nologo -v q
log=$(mktemp -t qc-test-XXXXXX.log)
trap 'rm -f "$log"' EXIT
status=0
dotnet test QcPipeline.sln -c Release --no-build -nologo -v q --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?
# One plain closing line over all test projects.
passed=$(awk '/^ +Passed: +[0-9]+$/ {s += $2} END {print s + 0}' "$log")
failed=$(awk '/^ +Failed: +[0-9]+$/ {s += $2} END {print s + 0}' "$log")
skipped=$(awk '/^ +Skipped: +[0-9]+$/ {s += $2} END {print s + 0}' "$log")
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
