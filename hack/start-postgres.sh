#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 (Debian's server binaries) as the postgres user in DIR, on a free
# loopback port. Writes DIR/env (OPENPDS_TEST_DATABASE_URL=…) and DIR/stop. Ready in about half a second.
# Usage: hack/start-postgres.sh DIR
set -euo pipefail
DIR=${1:?usage: start-postgres.sh DIR}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] || { echo "start-postgres: PostgreSQL server binaries not found (apt-get install postgresql-15)" >&2; exit 1; }
RUN_AS=()
if [ "$(id -u)" = 0 ]; then RUN_AS=(runuser -u postgres --); fi
mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${RUN_AS[@]}" "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync -E UTF8 >"$DIR/initdb.log" 2>&1
"${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
  -o "-k $DIR -p $PORT -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
"${RUN_AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres openpds
cat >"$DIR/env" <<ENV
export OPENPDS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/openpds
export OPENPDS_TEST_PG_ADMIN_URL=postgres://postgres@127.0.0.1:$PORT/postgres
ENV
cat >"$DIR/stop" <<STOP
#!/usr/bin/env bash
${RUN_AS[*]} "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
STOP
chmod +x "$DIR/stop"
echo "postgres ready on 127.0.0.1:$PORT"
