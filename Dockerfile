# One image for the proxy, the reference CSMS and the fleet simulator: the `ocppscope` CLI is the
# entrypoint, so `docker run IMAGE proxy ...`, `... csms ...`, `... simulate ...` (see
# docker-compose.yml for the lab that runs all three).
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OCPPSCOPE_DATA_DIR=/data

WORKDIR /app
COPY . /app
# A regular install, as pipx does: the wheel carries the migrations, the map and the dashboards'
# JSON (tests/test_packaging.py). No test extras.
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin ocppscope \
    && mkdir -p /data \
    && chown ocppscope:ocppscope /data

# The proxy's CA (mitmproxy confdir) and, without OCPPSCOPE_DATABASE_URL, the embedded PostgreSQL.
VOLUME /data
USER ocppscope

# proxy (chargers), CSMS OCPP, CSMS REST/map, proxy admin, simulator control
EXPOSE 9000 9001 8080 9464 9002
ENTRYPOINT ["ocppscope"]
CMD ["--help"]
