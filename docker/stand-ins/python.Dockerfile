# Stand-in for python:3.11.*-slim-bookworm where no registry answers (scripts/offline_images.sh):
# Debian bookworm's Python 3.11 in a venv on PATH, as the official image keeps python, pip
# and console scripts on PATH.
FROM conveyor/stand-in-base:bookworm
# The bookworm release pins the packages' versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /usr/local/python
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8
LABEL conveyor.stand-in=true
CMD ["python3"]
