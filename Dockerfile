FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --create-home app
USER app
EXPOSE 8000
CMD ["session-api", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
