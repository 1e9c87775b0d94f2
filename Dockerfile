# thumbsweep as a container image.
# - dependencies come from the hash-pinned requirements.lock (see the README for the command that
#   regenerates it), uvloop included, so the worker runs on uvloop; the project itself is
#   installed on top without dependencies;
# - the worker runs as PID 1 (exec-form ENTRYPOINT), so SIGTERM reaches it and it drains;
# - it runs as a non-root user and needs nothing writable but the volume holding the ledger
#   (works with a read-only root filesystem); no secrets are baked in.
#
# The base image is a build argument so that a release can pin it by digest (a tag such as
# 3.11-slim moves with every Debian and Python patch release; a digest never does). Read the
# digest of the tag you tested with, then build with it:
#   docker buildx imagetools inspect python:3.11-slim      # "Digest: sha256:..."
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest> -t thumbsweep .
# This file does not carry a digest itself: none was read from the registry for it.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/thumbsweep
COPY requirements.lock ./
RUN /opt/thumbsweep/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY worker ./worker
RUN /opt/thumbsweep/bin/pip install --no-deps . \
    && /opt/thumbsweep/bin/thumbsweep --version

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/thumbsweep/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/thumbsweep /opt/thumbsweep
RUN groupadd --system --gid 10001 thumbsweep \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin thumbsweep
# A host directory bind-mounted on /data must be writable by this user: run the container with
# --user "$(id -u):$(id -g)" (thumbsweep needs no home directory or passwd entry), or
# `chown 10001:10001` the directory. Kubernetes gets the same from fsGroup: 10001.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["thumbsweep"]
CMD ["--help"]
