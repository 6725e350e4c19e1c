#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real: Ceph (radosgw as the S3 server), PostgreSQL 15
# server binaries, lua5.1 (Argo CD health checks), prometheus (promtool runs the Domain chart's alert rules:
# operator/src/charts/alert-rules.promtool.test.ts). Does nothing when they are all present.
set -euo pipefail
need=()
command -v radosgw >/dev/null || need+=(ceph-mon ceph-osd radosgw ceph-common)
command -v uuidgen >/dev/null || need+=(uuid-runtime)
command -v lua5.1 >/dev/null || need+=(lua5.1)
command -v python3 >/dev/null || need+=(python3)
command -v promtool >/dev/null || need+=(prometheus)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql-15)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing test packages; run as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing test packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
