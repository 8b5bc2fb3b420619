# Stand-in for prom/alertmanager where no registry answers (scripts/offline_images.sh):
# Debian bookworm's Alertmanager 0.25 (the version of the tag compose names), with the
# official image's contract: /bin/alertmanager as entrypoint, config in /etc/alertmanager,
# data in /alertmanager, running unprivileged.
FROM conveyor/stand-in-base:bookworm
# The bookworm release pins the packages' versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends prometheus-alertmanager \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s prometheus-alertmanager /usr/bin/alertmanager \
    && mkdir -p /alertmanager \
    && chown prometheus:prometheus /alertmanager
WORKDIR /alertmanager
# The package's own user, whose id Debian assigns at install.
# hadolint ignore=DL3066
USER prometheus:prometheus
LABEL conveyor.stand-in=true
EXPOSE 9093
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
