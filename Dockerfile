# thumbsweep as a container: the worker is PID 1 (exec-form entrypoint), runs as a non-root user,
# and needs nothing writable but the mounted directory that holds the ledger.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY worker ./worker
RUN python -m venv /opt/thumbsweep \
    && /opt/thumbsweep/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/thumbsweep/bin/pip install --no-cache-dir .

FROM python:3.11-slim
ENV PATH=/opt/thumbsweep/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/thumbsweep /opt/thumbsweep
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin thumbsweep
USER 10001
WORKDIR /data
ENTRYPOINT ["thumbsweep"]
CMD ["--help"]
