# Stand-in for postgres:*-bookworm where no registry answers (scripts/offline_images.sh):
# Debian bookworm's PostgreSQL 15, with an entrypoint that honours what docker-compose.yml
# uses of the official one: POSTGRES_PASSWORD, /docker-entrypoint-initdb.d/*.sh on the first
# start, data in /var/lib/postgresql/data, pg_isready on PATH.
FROM conveyor/stand-in-base:bookworm
# The bookworm release pins the packages' versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /docker-entrypoint-initdb.d /var/run/postgresql \
    && chown postgres /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
LABEL conveyor.stand-in=true
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
