"""The server: ``GET``/``HEAD /feeds/<token>.ics``, ``/healthz``, peers' signed pulls.

``POST /sync/pull`` answers a registered peer's signed pull with a bundle for it (see
``service_layer/sync.py``); a pull that is refused gets ``401`` and a one-line reason, one
whose body is over :data:`MAX_PULL_BODY` ``413``.

Endpoints are plain functions: Starlette runs them in its thread pool, where the
synchronous SQLAlchemy engine belongs.

While the database cannot be reached, feeds answer ``503`` with ``Retry-After`` and a
one-line body (one warning line in the log, no traceback) and ``/healthz`` answers ``503``;
both recover by themselves when it is back (the engine pings pooled connections first).

At start the event log is verified (hash chain and append-only triggers) in a background
thread, so feeds are served at once; if it fails, one warning line says so.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from consultations.adapters.database import database_unavailable, first_line
from consultations.bootstrap import Application
from consultations.service_layer.feeds import Validators

CALENDAR = "text/calendar; charset=utf-8"
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
CACHE_CONTROL = "private, no-cache"  # clients revalidate with the ETag every time
RETRY_AFTER_SECONDS = 5  # what a 503 asks clients to wait while the database is away
MAX_PULL_BODY = 64 * 1024
"""The most a pull's body may hold (a pull's body is empty today)."""
UNAVAILABLE_BODY = "feed temporarily unavailable: the database cannot be reached; retry later\n"

log = logging.getLogger("consultations.web")


def create_app(app: Application, *, check_log: bool = True) -> Starlette:
    """The ASGI application serving the feeds of ``app``'s database.

    ``check_log``: verify the event log at start-up (in the thread ``state.log_check``) and
    log one warning line if it fails; ``run`` turns it off because its daemon checks.
    """
    publisher = app.feeds

    @asynccontextmanager
    async def lifespan(server: Starlette) -> AsyncIterator[None]:
        if check_log:
            thread = threading.Thread(
                target=check_log_at_start, args=(app,), name="log-check", daemon=True
            )
            server.state.log_check = thread
            thread.start()
        yield

    def feed(request: Request) -> Response:
        try:
            return serve_feed(request)
        except SQLAlchemyError as error:
            if not database_unavailable(error):
                raise
            # One line, without the URL: the token in it is a credential.
            log.warning("feed answered 503, database unavailable: %s", first_line(error))
            return PlainTextResponse(
                UNAVAILABLE_BODY,
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
            )

    def serve_feed(request: Request) -> Response:
        token = request.path_params["token"]
        # Unknown and revoked tokens take the same path: one lookup by hash, then 404.
        spec = publisher.lookup(token) if TOKEN.fullmatch(token) else None
        if spec is None:
            return PlainTextResponse("no such feed\n", status_code=404)
        validators = publisher.validators(spec)
        headers = {
            "ETag": validators.etag,
            "Last-Modified": format_datetime(validators.last_modified, usegmt=True),
            "Cache-Control": CACHE_CONTROL,
        }
        if not_modified(request, validators):
            return Response(status_code=304, headers=headers)
        body = publisher.render(spec)
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(b"", media_type=CALENDAR, headers=headers)
        return Response(body, media_type=CALENDAR, headers=headers)

    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        from consultations.adapters.peer_http import SeenRequests  # noqa: PLC0415
        from consultations.adapters.signing import KeyFileProblem  # noqa: PLC0415
        from consultations.domain.errors import DomainError  # noqa: PLC0415
        from consultations.service_layer.sync import PullRefused, answer_pull  # noqa: PLC0415
        from consultations.settings import SettingsError  # noqa: PLC0415

        try:
            bundle = answer_pull(
                app.commands,
                app.read_models,
                app.settings.identity_key_path(),
                SeenRequests(app.engine),
                (method, path, headers, body),
            )
        except PullRefused as refusal:
            log.warning("sync pull refused: %s", refusal.detail)
            return PlainTextResponse(f"{refusal}\n", status_code=401)
        except (DomainError, KeyFileProblem, SettingsError) as problem:  # cannot sign here
            log.warning("sync pull not answered: %s", problem)
            return PlainTextResponse(f"{problem}\n", status_code=503)
        return PlainTextResponse(bundle, headers={"Cache-Control": "no-store"})

    async def sync_pull(request: Request) -> Response:
        body = await _body_within(request, MAX_PULL_BODY)
        if body is None:
            return PlainTextResponse("the request body is too large\n", status_code=413)
        headers = {name.title(): value for name, value in request.headers.items()}
        try:
            return await run_in_threadpool(answer, request.method, request.url.path, headers, body)
        except SQLAlchemyError as error:
            if not database_unavailable(error):
                raise
            log.warning("sync pull answered 503, database unavailable: %s", first_line(error))
            return PlainTextResponse(
                "the database cannot be reached; retry later\n",
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )

    def healthz(request: Request) -> Response:
        try:
            position, _ = app.store.head()
        except SQLAlchemyError as error:  # not logged: probes ask every few seconds
            return JSONResponse(
                {"status": "unavailable", "error": first_line(error)},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
            )
        return JSONResponse(
            {"status": "ok", "log_position": position}, headers={"Cache-Control": "no-store"}
        )

    return Starlette(
        routes=[
            Route("/feeds/{token}.ics", feed, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/sync/pull", sync_pull, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def check_log_at_start(app: Application) -> None:
    """Verify the event log; log one warning line if it fails or cannot be checked."""
    try:
        integrity = app.store.verify_integrity()
    except SQLAlchemyError as error:
        log.warning("could not verify the event log at start: %s", first_line(error))
        return
    if not integrity.ok:
        log.warning(integrity.start_up_warning("feed server"))


def not_modified(request: Request, validators: Validators) -> bool:
    """RFC 9110 §13: If-None-Match decides when present; else If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or validators.etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError, OverflowError):  # e.g. a 20-digit year
        return False  # a malformed date is ignored, as RFC 9110 asks
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return validators.last_modified.replace(microsecond=0) <= since


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The request's body, read no further than ``limit`` bytes (None: it is longer)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            log.warning("request refused: its body is over %d bytes", limit)
            return None
    return body
