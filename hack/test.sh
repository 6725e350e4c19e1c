#!/usr/bin/env bash
# The README's test command (`npm test`): starts a throwaway PostgreSQL and a throwaway Ceph radosgw (S3)
# on loopback, runs the whole jest suite against them, PGlite and local disk, then stops both.
# Extra arguments go to jest (`npm test -- api-server/src/storage`).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/install-test-deps.sh
WORK=$(mktemp -d /tmp/openpds-test.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  for svc in pg s3; do [ -x "$WORK/$svc/stop" ] && "$WORK/$svc/stop"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Both start in parallel: PostgreSQL in ~1 s, radosgw in ~2-3 s.
hack/start-postgres.sh "$WORK/pg" >"$WORK/pg.log" 2>&1 & pg_pid=$!
hack/start-radosgw.sh "$WORK/s3" >"$WORK/s3.log" 2>&1 & s3_pid=$!
wait $pg_pid || { cat "$WORK/pg.log" >&2; echo "test: PostgreSQL did not start" >&2; exit 1; }
wait $s3_pid || { cat "$WORK/s3.log" >&2; echo "test: radosgw did not start (on a fresh machine run .ci/run once)" >&2; exit 1; }
# shellcheck disable=SC1091
source "$WORK/pg/env"; source "$WORK/s3/env"
npx tsc --noEmit -p .
# dist/ as `npm start` and the image run it, built when older than the sources (as `npm start` builds it;
# ~2 s): every `openpds` process a test starts through bin/openpds.js then runs the compiled JavaScript
# instead of the sources through tsx, ~0.5 s less each (six of those suites: 84 -> 68 s), and the tests run
# what users run. Not rebuilt when current: a build empties dist/ first, under any run still using it.
node bin/build-if-stale.js
# PGlite loads its WebAssembly through a dynamic import, which jest allows only with VM modules on.
node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/.bin/jest "$@"
# The whole suite (no jest arguments) also builds the Dockerfile the only way these machines can: replayed
# on this Debian and Node (no container engine here), its entry points run as the image's uid 10001.
if [ $# -eq 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    npx tsx hack/dockerfile-replay.ts >"$WORK/replay.log" 2>&1 || { cat "$WORK/replay.log" >&2; echo "test: the Dockerfile replay failed (npx tsx hack/dockerfile-replay.ts)" >&2; exit 1; }
    grep -E '^\[replay\] (PASS|serve|worker|operator)' "$WORK/replay.log"
  else echo "test: Dockerfile replay not run: it needs root to run the entry points as uid 10001"; fi
fi
