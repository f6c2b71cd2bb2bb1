#!/bin/sh
# angka: make a read replica on this host (run as the postgres user, PostgreSQL stopped,
# its data directory empty). Usage: basebackup.sh PRIMARY_HOST SLOT_NAME [DATA_DIR]
#   e.g. basebackup.sh db.internal angka_replica1
# The password of the replicator role comes from ~postgres/.pgpass (mode 0600):
#   db.internal:5432:replication:replicator:<password>
set -eu
primary="$1"
slot="$2"
data="${3:-/var/lib/postgresql/15/main}"

# -R: write standby.signal and primary_conninfo (and primary_slot_name), so the copy
#     starts as a standby of the primary;
# -C -S: create the replication slot that keeps the WAL this replica has not received;
# -X stream: stream the WAL made during the copy alongside it (the copy is consistent);
# -c fast: start with an immediate checkpoint instead of waiting for the next one.
pg_basebackup --host="$primary" --username=replicator --pgdata="$data" \
    --write-recovery-conf --create-slot --slot="$slot" \
    --wal-method=stream --checkpoint=fast --progress
