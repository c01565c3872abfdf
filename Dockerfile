# syntax=docker/dockerfile:1
# The build stage installs the dependencies in a layer of their own (rebuilt only when
# pyproject.toml changes), then the package itself, non-editable, into a virtualenv. The
# runtime stage copies that virtualenv alone and runs as an unprivileged user.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/session-api/bin:$PATH
RUN python -m venv /opt/session-api
WORKDIR /build
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -r requirements.txt
COPY README.md ./
COPY src ./src
RUN pip install --no-deps . && pip check

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/session-api/bin:$PATH \
    SESSION_API_MAIL_DIR=/var/lib/session-api/mail
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/session-api app \
    && mkdir -p /var/lib/session-api/mail \
    && chown -R app /var/lib/session-api
COPY --from=build /opt/session-api /opt/session-api
USER app
WORKDIR /var/lib/session-api
EXPOSE 8000
# Ready means the database answers; the worker and the migration override this check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
# One process per container: /metrics counts per process, so each container is one target.
CMD ["session-api", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "1"]
