# Stand-in for prom/prometheus where no registry answers (scripts/offline_images.sh):
# Debian bookworm's Prometheus 2.42 (the version of the tag compose names), with the
# official image's contract: /bin/prometheus as entrypoint (Debian's; /bin is /usr/bin),
# config in /etc/prometheus, data in /prometheus, running unprivileged.
FROM conveyor/stand-in-base:bookworm
# The bookworm release pins the packages' versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends prometheus \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /prometheus \
    && chown prometheus:prometheus /prometheus
WORKDIR /prometheus
# The package's own user, whose id Debian assigns at install.
# hadolint ignore=DL3066
USER prometheus:prometheus
LABEL conveyor.stand-in=true
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
