#!/bin/sh
# The stand-in's entrypoint: on the first start (an empty data folder) initdb with
# POSTGRES_PASSWORD for the `postgres` user, run /docker-entrypoint-initdb.d/*.sh against
# a server listening on its socket only, then serve on every address with passwords.
set -eu
mkdir -p "$PGDATA"
chown postgres "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required (make secrets writes it)}"
    password_file=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" > "$password_file"
    chown postgres "$password_file"
    runuser -u postgres -- initdb --username=postgres --pwfile="$password_file" \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    runuser -u postgres -- pg_ctl -w -o "-c listen_addresses=''" start >/dev/null
    for script in /docker-entrypoint-initdb.d/*.sh; do
        [ -e "$script" ] || continue
        echo "running $script"
        runuser -u postgres -- sh "$script"
    done
    runuser -u postgres -- pg_ctl -w stop >/dev/null
fi
[ "$1" = postgres ] && shift && exec runuser -u postgres -- postgres -c listen_addresses='*' "$@"
exec "$@"
