# Stand-in for tecnativa/docker-socket-proxy where no registry answers
# (scripts/offline_images.sh): Debian's HAProxy in front of the Docker socket with the same
# allow-list variables (1 allows that part of Docker's API, 0 denies it; POST=0 allows
# only reads). Defaults as the original's: ping, version and events on, the rest off.
FROM conveyor/stand-in-base:bookworm
# The bookworm release pins the packages' versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/*
COPY socket-proxy.cfg /usr/local/etc/haproxy/haproxy.cfg
# Names of Docker API sections (AUTH, SECRETS), not credentials.
# hadolint ignore=DL3064
ENV PING=1 VERSION=1 EVENTS=1 POST=0 AUTH=0 BUILD=0 COMMIT=0 CONFIGS=0 CONTAINERS=0 \
    DISTRIBUTION=0 EXEC=0 IMAGES=0 INFO=0 NETWORKS=0 NODES=0 PLUGINS=0 SERVICES=0 \
    SESSION=0 SWARM=0 SYSTEM=0 TASKS=0 VOLUMES=0 SECRETS=0
LABEL conveyor.stand-in=true
EXPOSE 2375
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
