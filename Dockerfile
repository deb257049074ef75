# Production image for the web, worker and beat processes.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PORTAL_VAR_DIR=/var/lib/prr-portal
WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app prr \
    && mkdir -p /var/lib/prr-portal && chown prr /var/lib/prr-portal
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir . && pip install --no-cache-dir -e . \
    && SECRET_KEY=collectstatic-only DEBUG=false python manage.py collectstatic --noinput
USER prr
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
