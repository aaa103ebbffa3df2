# Hip Coach as a container: the Telegram and/or Discord bot, configured only by environment variables.
#   docker build -t hipcoach .
#   docker run -d --env-file .env -v hipcoach-data:/data -p 127.0.0.1:9090:9090 hipcoach
# or `docker compose up -d` (compose.yaml). docs/deploy.md walks through it.
# PYTHON_IMAGE: another Python 3.11+ base with `python` and `pip` on PATH (a mirror, a pinned digest).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The package (and its dependencies from PyPI) goes into site-packages; the knowledge base stays a folder.
COPY pyproject.toml README.md /src/
COPY bot /src/bot
RUN pip install /src && rm -rf /src
COPY content /app/content

# A dedicated user without a login; the database lives in a volume at /data that it owns.
RUN groupadd --system --gid 10001 hipcoach \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin hipcoach \
    && mkdir -p /data && chown hipcoach:hipcoach /data
VOLUME /data
WORKDIR /data
USER hipcoach

# No TTY in a container: with neither TELEGRAM_BOT_TOKEN nor DISCORD_BOT_TOKEN set, the bot exits at once
# (code 2) saying so, instead of starting a terminal chat. /healthz and /metrics listen on every interface
# inside the container; publish the port on 127.0.0.1 only (compose.yaml does).
ENV HIPCOACH_DB=/data/hipcoach.db \
    HIPCOACH_CONTENT=/app/content \
    HIPCOACH_HTTP_HOST=0.0.0.0 \
    HIPCOACH_HTTP_PORT=9090
EXPOSE 9090

# 200 while the database answers (the body names each platform's connection), 503 when it does not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HIPCOACH_HTTP_PORT', '9090') + '/healthz', timeout=4)"]

# SIGTERM (docker stop) finishes what is in flight and closes the database.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
