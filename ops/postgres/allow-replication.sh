#!/bin/sh
# Run once by the postgres image's entrypoint after initdb (mounted into /docker-entrypoint-initdb.d): lets
# a streaming replica (the compose service `postgres-replica`, profile `cluster`) connect for replication
# with a password. wal_level (replica) and max_wal_senders (10) are Postgres's defaults already.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
