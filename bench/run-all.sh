#!/usr/bin/env bash
# Runs every benchmark once at full size: starts a throwaway PostgreSQL and, for each S3 benchmark, a fresh
# radosgw (its memstore OSD lives in RAM; a fresh one per benchmark keeps each within its 4 GiB), then
# stops them. Extra arguments are passed to every benchmark (e.g. --runs 3). Output: stdout, and
# bench/out/<name>.log. Exit status: non-zero only if a benchmark errored, never on a missed target.
# Usage: bench/run-all.sh [benchmark-args...]
set -uo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/openpds-bench-run.XXXXXX)
chmod 755 "$WORK" # PostgreSQL runs as the postgres user and must reach its data dir inside
mkdir -p bench/out
stop_all() {
  [ -x "$WORK/rgw/stop" ] && "$WORK/rgw/stop"
  [ -x "$WORK/pg/stop" ] && "$WORK/pg/stop"
  rm -rf "$WORK"
}
trap stop_all EXIT
hack/start-postgres.sh "$WORK/pg" >/dev/null || { cat "$WORK/pg/initdb.log" "$WORK/pg/server.log" >&2 2>/dev/null; exit 1; }
# shellcheck disable=SC1091
source "$WORK/pg/env"
failed=()
for name in upload-1gib rapid-1gib small-files list-100k range-download drive-delete folder-copy; do
  case "$name" in
  list-100k | drive-delete | folder-copy)
    # PostgreSQL only: the last S3 benchmark's radosgw (ceph-mon, ceph-osd and radosgw keep busy in the
    # background) is stopped, so it does not take cycles from these database-bound figures.
    [ -x "$WORK/rgw/stop" ] && "$WORK/rgw/stop"
    ;;
  *)
    [ -x "$WORK/rgw/stop" ] && "$WORK/rgw/stop"
    hack/start-radosgw.sh "$WORK/rgw" >/dev/null 2>"$WORK/rgw.err" || { cat "$WORK/rgw.err" >&2; exit 1; }
    # shellcheck disable=SC1091
    source "$WORK/rgw/env"
    export OPENPDS_BENCH_RADOSGW_DIR="$WORK/rgw"
    ;;
  esac
  echo "== $name"
  start=$(date +%s)
  npx tsx "bench/$name.ts" "$@" 2>&1 | tee "bench/out/$name.log"
  [ "${PIPESTATUS[0]}" = 0 ] || failed+=("$name")
  echo "   ($name took $(( $(date +%s) - start )) s)"
done
echo "== PASS/MISS"
grep -h -e '^PASS' -e '^MISS' bench/out/*.log
if [ ${#failed[@]} -gt 0 ]; then echo "errored: ${failed[*]}" >&2; exit 1; fi
