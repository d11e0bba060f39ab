"""HTTP between instances: the pulls a peer answered (to refuse replays), and pulling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from consultations.adapters.database import write_transaction
from consultations.adapters.orm import sync_requests

TIMEOUT_SECONDS = 60.0


class PullFailed(RuntimeError):
    """A peer could not be reached, or refused the pull (its one-line reason)."""


class SeenRequests:
    """The signed requests answered lately, kept in the database (all servers share it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def first_sight(self, request_id: str, now: datetime, forget_before: datetime) -> bool:
        """Record a request; False if it was seen already (a replay). Older ones are forgotten."""
        try:
            with write_transaction(self.engine) as connection:
                connection.execute(
                    sync_requests.delete().where(sync_requests.c.seen_at < forget_before)
                )
                connection.execute(
                    sync_requests.insert().values(request_id=request_id, seen_at=now)
                )
        except IntegrityError:
            return False
        return True

    def count(self) -> int:
        """How many are remembered."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(sync_requests)
                ).scalar_one()
            )


def post(url: str, body: bytes, headers: dict[str, str], client: Any = None) -> bytes:
    """POST ``body`` to ``url``; the response body, or PullFailed with the peer's reason."""
    own = client is None
    session: httpx.Client = httpx.Client(timeout=TIMEOUT_SECONDS) if own else client
    try:
        response = session.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        raise PullFailed(f"cannot reach {url}: {error}") from None
    finally:
        if own:
            session.close()
    if response.status_code != 200:
        reason = (response.text.strip().splitlines() or [response.reason_phrase])[0]
        raise PullFailed(f"{url} answered {response.status_code}: {reason}")
    return response.content
