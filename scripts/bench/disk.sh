#!/usr/bin/env bash
# The disk's own ceiling for durable small files, with no DICOM and no network: N files of SIZE bytes (default: the
# 526 kB CT image of cstore.sh), each written and fsynced, by 1 and 4 writer threads; then the same without fsync;
# then the latency of one fdatasync of 4 kB over allocated blocks (the device's flush latency) and of a rename
# followed by a directory fsync. It bounds what any receiver that answers success only after an fsync can reach on
# this machine; cstore.sh's figures are read against it in docs/benchmarks.md.
#
# Usage: scripts/bench/disk.sh [N] [SIZE]        (default 300 files, 538624 bytes) in a temp folder on the data disk
#        DIR=/some/folder scripts/bench/disk.sh   measure another file system
set -euo pipefail
N="${1:-300}"
SIZE="${2:-538624}"
DIR="${DIR:-$(dirname "$0")/../..}"
WORK="$(mktemp -d -p "$DIR" .qc-disk-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
python3 - "$WORK" "$N" "$SIZE" <<'PY'
import os, sys, threading, time
work, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = os.urandom(size)

def writer(k, sync):
    for i in range(n):
        fd = os.open(os.path.join(work, f"f{k}_{i}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.write(fd, buf)
        if sync:
            os.fsync(fd)
        os.close(fd)

def clean():
    for f in os.listdir(work):
        os.unlink(os.path.join(work, f))

print(f"{n} files of {size} bytes per writer in {work}")
for sync in (True, False):
    for threads in (1, 4):
        ts = [threading.Thread(target=writer, args=(k, sync)) for k in range(threads)]
        t = time.perf_counter()
        for x in ts: x.start()
        for x in ts: x.join()
        el = time.perf_counter() - t
        files = threads * n
        print(f"{'write+fsync' if sync else 'write only '}  {threads} writer(s): {files / el:7.0f} files/s  "
              f"{files * size / el / 1e6:6.0f} MB/s  {el / n * 1000:5.2f} ms per file per writer")
        clean()

fd = os.open(os.path.join(work, "log"), os.O_RDWR | os.O_CREAT)
os.write(fd, b"\0" * (4096 * n)); os.fsync(fd)
t = time.perf_counter()
for i in range(n):
    os.pwrite(fd, b"x" * 4096, i * 4096); os.fdatasync(fd)
print(f"fdatasync of 4 kB over allocated blocks: {(time.perf_counter() - t) / n * 1000:.2f} ms")
os.close(fd)

dfd = os.open(work, os.O_RDONLY)
for i in range(n):
    open(os.path.join(work, f"m{i}"), "wb").close()
t = time.perf_counter()
for i in range(n):
    os.rename(os.path.join(work, f"m{i}"), os.path.join(work, f"r{i}")); os.fsync(dfd)
print(f"rename + directory fsync: {(time.perf_counter() - t) / n * 1000:.2f} ms")
os.close(dfd)
PY
