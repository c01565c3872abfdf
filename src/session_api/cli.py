"""`session-api serve | worker | migrate | token | openapi`: the operator's entry points."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError

from session_api import server
from session_api.auth import Role, issue_token
from session_api.config import MIN_SECRET_BYTES, Settings
from session_api.db import migrations
from session_api.db.engine import build_engine
from session_api.logs import configure_logging, logging_config
from session_api.main import create_app
from session_api.services import relay

WORKER_START_SECONDS = 60
_TTL = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _settings(*, tokens: bool = False) -> Settings:
    """The configuration; `tokens` when the command verifies or signs tokens."""
    try:
        settings = Settings()
        if tokens:
            settings.refuse_without_token_key()
    except ValidationError as error:
        messages = "; ".join(
            str(item["msg"]).removeprefix("Value error, ") for item in error.errors()
        )
        sys.exit(f"session-api: configuration refused: {messages}")
    except ValueError as error:
        sys.exit(f"session-api: configuration refused: {error}")
    return settings


def _ttl(text: str) -> timedelta:
    match = _TTL.match(text)
    if match is None:
        raise argparse.ArgumentTypeError("use seconds or a number with s, m, h or d (e.g. 12h)")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


async def _pending_revision(settings: Settings) -> str | None:
    engine = build_engine(settings.database_url)
    try:
        current = await migrations.current_revision(engine)
    finally:
        await engine.dispose()
    head = migrations.head_revision(settings.database_url)
    return None if current == head else f"database is at {current}, the code needs {head}"


def serve(args: argparse.Namespace) -> None:
    """Run the API; the embedded SQLite file is migrated, PostgreSQL must already be."""
    settings = _settings(tokens=True)
    if settings.is_sqlite:
        migrations.upgrade(settings.database_url)
    elif (pending := asyncio.run(_pending_revision(settings))) is not None:
        sys.exit(f"session-api: refusing to start: {pending}; run 'session-api migrate' first")
    configure_logging(settings.log_level)
    server.run(
        "session_api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # A worker that takes longer than uvicorn's 5 s to import and start on a busy host is
        # killed and respawned, forever; give it time.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
        # Every process logs JSON lines; the app writes the access line (with the request id).
        log_config=logging_config(settings.log_level),
        access_log=False,
    )


def worker(args: argparse.Namespace) -> None:
    """Deliver the outbox (e-mail and webhooks) and publish the event feed."""
    settings = _settings()
    if settings.is_sqlite:
        migrations.upgrade(settings.database_url)
    elif (pending := asyncio.run(_pending_revision(settings))) is not None:
        sys.exit(f"session-api: refusing to start: {pending}; run 'session-api migrate' first")
    configure_logging(settings.log_level)
    report = asyncio.run(relay.run_from_settings(settings, once=args.once))
    if report is not None:
        print(f"session-api: {report}")  # noqa: T201


def migrate(_args: argparse.Namespace) -> None:
    """Apply the Alembic migrations to the configured database."""
    settings = _settings()
    migrations.upgrade(settings.database_url)
    print(f"session-api: migrated to {migrations.head_revision(settings.database_url)}")  # noqa: T201


def token(args: argparse.Namespace) -> None:
    """Print a signed JWT for a role (a coach's or coachee's `--sub` is their id)."""
    settings = _settings(tokens=True)
    role = Role(args.role)
    if role is not Role.ADMIN and args.sub is None:
        sys.exit(f"session-api: a {role} token needs --sub with the {role}'s id")
    private_key = Path(args.private_key_file).read_text() if args.private_key_file else None
    subject = args.sub or "operator"
    print(issue_token(settings, role=role, subject=subject, ttl=args.ttl, private_key=private_key))  # noqa: T201


def openapi(args: argparse.Namespace) -> None:
    """Write the OpenAPI document the app serves (the committed `openapi.json`)."""
    Path(args.output).write_text(openapi_document() + "\n")


def openapi_document() -> str:
    """The app's OpenAPI document as stable, indented JSON."""
    # The document does not depend on configuration; any valid settings will do.
    settings = Settings(jwt_secret="x" * MIN_SECRET_BYTES, environment="development")
    return json.dumps(create_app(settings).openapi(), indent=2, sort_keys=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="session-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the HTTP API")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes; /metrics counts per process, so where metrics are scraped run one "
        "per container (the image does) and scale by containers",
    )
    serve_parser.set_defaults(run=serve)

    worker_parser = commands.add_parser("worker", help="deliver e-mail and webhooks")
    worker_parser.add_argument(
        "--once", action="store_true", help="one pass over what is due, then exit"
    )
    worker_parser.set_defaults(run=worker)

    migrate_parser = commands.add_parser("migrate", help="apply database migrations")
    migrate_parser.set_defaults(run=migrate)

    token_parser = commands.add_parser("token", help="print a signed JWT")
    token_parser.add_argument("--role", required=True, choices=[str(role) for role in Role])
    token_parser.add_argument("--sub", help="subject: the coach's or coachee's id")
    token_parser.add_argument("--ttl", type=_ttl, default=timedelta(hours=12), help="e.g. 12h")
    token_parser.add_argument("--private-key-file", help="PEM key for asymmetric algorithms")
    token_parser.set_defaults(run=token)

    openapi_parser = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi_parser.add_argument("--output", default="openapi.json")
    openapi_parser.set_defaults(run=openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run the chosen command."""
    args = _parser().parse_args(argv)
    args.run(args)
