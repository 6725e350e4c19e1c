#!/usr/bin/env bash
# Starts a throwaway single-node Ceph (1 mon, 1 memstore OSD, no mgr, cephx off) and radosgw on free
# loopback ports, so several can run side by side. Creates a user and a bucket, warms both up, then writes
# DIR/env (OPENPDS_TEST_S3_*) and DIR/stop. Adapted from shared/reference/start-radosgw.example.sh.
# Needs Debian's ceph-mon ceph-osd radosgw ceph-common uuid-runtime. Ready in about 2-3 s.
# Usage: hack/start-radosgw.sh DIR
set -euo pipefail
DIR=${1:?usage: start-radosgw.sh DIR}
for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool uuidgen curl python3; do
  command -v "$bin" >/dev/null || { echo "start-radosgw: $bin not found (apt-get install ceph-mon ceph-osd radosgw ceph-common uuid-runtime)" >&2; exit 1; }
done
started=$(date +%s.%N)
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
D=$DIR/ceph
rm -rf "$D"; mkdir -p "$D"/{mon,osd0,run,log}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MON_PORT=$(free_port)
RGW_PORT=$(free_port)
ACCESS_KEY=OPENPDSTEST$(uuidgen | tr -d - | cut -c1-9 | tr a-z A-Z)
SECRET_KEY=$(uuidgen | tr -d -)$(uuidgen | tr -d - | cut -c1-8)
BUCKET=openpds-test
REGION=us-east-1
FSID=$(uuidgen)

# The stop script exists before any daemon starts, so a failure below still cleans up (see the trap).
# Daemons are found by their pid files, never by name: other clusters may be running next to this one.
cat >"$DIR/stop" <<STOP
#!/usr/bin/env bash
# Stops the daemons started by start-radosgw.sh in $DIR and frees their memory (memstore lives in RAM).
pids=()
for f in "$D"/run/*.pid; do [ -f "\$f" ] && pids+=("\$(cat "\$f")"); done
[ \${#pids[@]} -eq 0 ] && exit 0
kill "\${pids[@]}" 2>/dev/null || true
for i in \$(seq 1 50); do
  alive=0; for p in "\${pids[@]}"; do kill -0 "\$p" 2>/dev/null && alive=1; done
  [ \$alive = 0 ] && break; sleep 0.1
done
kill -9 "\${pids[@]}" 2>/dev/null || true
rm -f "$D"/run/*.pid
STOP
chmod +x "$DIR/stop"
trap 'rc=$?; if [ $rc != 0 ]; then echo "start-radosgw: failed, logs in $D/log" >&2; "$DIR/stop"; fi' EXIT

cat >"$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
osd crush chooseleaf type = 0
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = /dev/null
ms bind ipv6 = false
ms mon client mode = crc
ms client mode = crc
ms cluster mode = crc
ms service mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
mon data avail warn = 1
mon data avail crit = 0
# Every pool radosgw creates is an osdmap change the mon commits after paxos propose interval (1 s by
# default); a dozen of them made start-up take ~20 s. A single mon has nobody to batch with.
paxos propose interval = 0.05
paxos min wait = 0.01
[mon.a]
mon data = $D/mon
[osd.0]
osd data = $D/osd0
osd objectstore = memstore
# RAM the OSD may fill: the test suite plus a 1 GiB benchmark (objects and their multipart parts) fit.
memstore device bytes = 4294967296
# The OSD binds its own ports; keep them on loopback.
public addr = 127.0.0.1
cluster addr = 127.0.0.1
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
# tcp_nodelay: without it every response with an XML body (CreateMultipartUpload, ListParts, Complete,
# CopyObject) waits ~40 ms on Nagle + delayed ACK; measured 46 ms -> 5 ms per call on loopback.
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $D/rgw
rgw dns name = localhost
# Deleted and overwritten objects stay in the (RAM) store until rgw's GC runs, by default after 2 h;
# reclaim within seconds so repeated benchmark runs do not fill the memstore.
rgw gc obj min wait = 5
rgw gc processor period = 10
CONF
export CEPH_CONF="$D/ceph.conf"

monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap"
ceph-mon -i a
OSD_UUID=$(uuidgen)
ceph --connect-timeout 20 osd new "$OSD_UUID" >/dev/null
ceph-osd -i 0 --mkfs --osd-uuid "$OSD_UUID" 2>"$D/log/osd-mkfs.err" >/dev/null
ceph-osd -i 0
up=0
for i in $(seq 1 150); do ceph osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1' && { up=1; break; }; sleep 0.2; done
[ $up = 1 ] || { echo "start-radosgw: the OSD did not come up" >&2; exit 1; }
radosgw -n client.rgw.a
URL=http://127.0.0.1:$RGW_PORT
up=0
for i in $(seq 1 300); do curl -s -o /dev/null "$URL/" && { up=1; break; }; sleep 0.2; done
[ $up = 1 ] || { echo "start-radosgw: radosgw did not answer on $URL" >&2; exit 1; }
radosgw-admin user create --uid=openpds-test --display-name=openpds-test \
  --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null

# curl signs SigV4 itself. radosgw wants x-amz-content-sha256 (curl 7.88 does not send it) and the
# canonical query "uploads=" spelled out; it checks the signature but not the region name.
s3() {
  curl -sS --fail-with-body --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}
s3 -X PUT "$URL/$BUCKET" >/dev/null
# Warm-up: the first object and the first multipart upload each create pools (~2 s); pay that here, not in
# the first test.
echo warm | s3 -X PUT --data-binary @- "$URL/$BUCKET/.warmup" >/dev/null
s3 -X DELETE "$URL/$BUCKET/.warmup" >/dev/null
upload_id=$(s3 -X POST "$URL/$BUCKET/.warmup?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
[ -n "$upload_id" ] || { echo "start-radosgw: warm-up multipart upload failed" >&2; exit 1; }
s3 -X DELETE "$URL/$BUCKET/.warmup?uploadId=$upload_id" >/dev/null

cat >"$DIR/env" <<ENV
export OPENPDS_TEST_S3_ENDPOINT=$URL
export OPENPDS_TEST_S3_REGION=$REGION
export OPENPDS_TEST_S3_BUCKET=$BUCKET
export OPENPDS_TEST_S3_ACCESS_KEY_ID=$ACCESS_KEY
export OPENPDS_TEST_S3_SECRET_ACCESS_KEY=$SECRET_KEY
ENV
echo "radosgw ready on $URL (bucket $BUCKET) in $(python3 -c "print(round($(date +%s.%N) - $started, 1))") s"
