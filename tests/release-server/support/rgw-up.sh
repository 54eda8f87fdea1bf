#!/bin/sh
# A single-node Ceph (one monitor, one memstore OSD, auth none inside the cluster) and radosgw, which
# checks SigV4 signatures, for the S3 blob store tests. Adapted from the workspace's
# ../shared/tools/ceph-rgw-up.sh (see ../shared/research/test-infrastructure.md): the ports are
# arguments so that several test files (and other users of the machine) do not collide, the memstore
# is smaller, and multipart parts may be as small as 1 MiB so that the tests stay small.
# Needs Debian's ceph-mon ceph-osd radosgw ceph-common (.ci/packages.txt).
# Usage: rgw-up.sh DIR RGW_PORT MON_PORT [MEMSTORE_BYTES (default 1 GiB)]   Stop: kill the PIDs in DIR/run/ceph-{client.rgw,osd.0,mon.a}.pid
set -eu
retry() { n=0; until "$@"; do n=$((n+1)); [ $n -lt 30 ] || return 1; sleep 0.5; done; }
D=${1:?dir}; RGW_PORT=${2:?rgw port}; MON_PORT=${3:?mon port}; MEMSTORE_BYTES=${4:-1073741824}
rm -rf "$D"; mkdir -p "$D/mon" "$D/osd0" "$D/run" "$D/log" "$D/rgw"; cd "$D"
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > ceph.conf <<CONF
[global]
fsid = $FSID
mon_host = v1:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES
ms_bind_msgr2 = false
run_dir = $D/run
admin_socket = $D/run/\$cluster-\$name.asok
log_file = $D/log/\$cluster-\$name.log
pid_file = $D/run/\$cluster-\$name.pid
mon_data = $D/mon
osd_data = $D/osd0
keyring = $D/keyring
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_data = $D/rgw
rgw_multipart_min_part_size = 1048576
CONF
ceph-authtool --create-keyring keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --add a "v1:127.0.0.1:$MON_PORT" --fsid "$FSID" monmap >/dev/null
ceph-mon -c ceph.conf --mkfs -i a --monmap monmap --keyring keyring
ceph-mon -c ceph.conf -i a
# The monitor may still be starting (EPERM / timeouts under load): retry, as for the crush steps below.
U=$(cat /proc/sys/kernel/random/uuid); n=0
until ID=$(timeout 30 ceph -c ceph.conf osd new "$U" 2>"$D/log/osd-new.err"); do
  n=$((n+1)); [ $n -lt 30 ] || { cat "$D/log/osd-new.err" >&2; exit 1; }; sleep 0.5
done
ceph-osd -c ceph.conf -i "$ID" --mkfs --osd-uuid "$U" 2>/dev/null
ceph-osd -c ceph.conf -i "$ID" 2>/dev/null
retry timeout 30 ceph -c ceph.conf osd crush add-bucket localhost host >/dev/null
retry timeout 30 ceph -c ceph.conf osd crush move localhost root=default >/dev/null
retry timeout 30 ceph -c ceph.conf osd crush add "osd.$ID" 1.0 host=localhost >/dev/null
radosgw -c ceph.conf -n client.rgw
i=0; until curl -fs -o /dev/null "http://127.0.0.1:$RGW_PORT/"; do i=$((i+1)); [ $i -lt 120 ] || { echo "rgw not up" >&2; exit 1; }; sleep 0.5; done
retry timeout 30 radosgw-admin -c ceph.conf user create --uid=test --display-name=test --access-key=TESTKEY --secret=TESTSECRET >/dev/null
curl -fsS -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user TESTKEY:TESTSECRET \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "http://127.0.0.1:$RGW_PORT/releases"
echo "rgw ready: endpoint=http://127.0.0.1:$RGW_PORT key=TESTKEY secret=TESTSECRET bucket=releases"
