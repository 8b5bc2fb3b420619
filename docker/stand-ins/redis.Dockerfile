# Stand-in for redis:*-bookworm where no registry answers (scripts/offline_images.sh):
# Debian bookworm's Redis 7.0 and redis-cli, running as `redis` in /data.
FROM conveyor/stand-in-base:bookworm
# The bookworm release pins the packages' versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server redis-tools \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /data \
    && chown redis:redis /data
WORKDIR /data
# The package's own user, whose id Debian assigns at install.
# hadolint ignore=DL3066
USER redis:redis
LABEL conveyor.stand-in=true
EXPOSE 6379
CMD ["redis-server"]
