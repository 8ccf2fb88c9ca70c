# The q2c image: workers, connectors and the CLI. Built by docker-compose.yml and for k8s/.
# Bytecode is compiled at build time: the root filesystem is read-only when it runs.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY q2c q2c
COPY schemas schemas
COPY connectors connectors
COPY streams streams
RUN python -m venv /opt/q2c \
 && /opt/q2c/bin/pip install --no-cache-dir uv==0.13.9 \
 && /opt/q2c/bin/uv pip install --python /opt/q2c/bin/python --no-cache --compile-bytecode \
      -r requirements.lock \
 && /opt/q2c/bin/uv pip install --python /opt/q2c/bin/python --no-cache --compile-bytecode \
      --no-deps .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/q2c q2c \
 && mkdir -p /var/lib/q2c && chown q2c /var/lib/q2c
COPY --from=build /opt/q2c /opt/q2c
ENV PATH=/opt/q2c/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    Q2C_WORKER__DATA_DIR=/var/lib/q2c/state \
    Q2C_WORKER__WEB_HOST=0.0.0.0 \
    Q2C_WORKER__WEB_PORT=6066
USER 10001
WORKDIR /var/lib/q2c
# worker web, connector web, BottleCRM webhook receiver
EXPOSE 6066 6067 8787
ENTRYPOINT ["q2c"]
CMD ["worker"]
