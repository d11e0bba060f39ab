"""Feed files in a folder, for a static web server: rewritten only when their content changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from consultations.adapters.atomic_file import write_atomically
from consultations.adapters.read_models import ReadModels
from consultations.service_layer.feeds import FeedPublisher, FeedSpec


class FeedFiles:
    """Keeps ``<feed_id>.ics`` in ``directory`` in step with every live feed.

    The folder is an outbound channel like any other: restricted meetings are written in
    full only if it is ``cleared`` (setting ``feeds_dir_restricted``) *and* the feed includes
    them. The files are named by feed id, not by the secret token of the feed's URL, so
    whoever reaches the folder's web server can guess them.
    """

    def __init__(
        self,
        publisher: FeedPublisher,
        read_models: ReadModels,
        directory: Path,
        *,
        cleared: bool = False,
    ) -> None:
        self.cleared = cleared
        self.publisher = publisher
        self.read_models = read_models
        self.directory = directory
        self._written: dict[str, str] = {}  # feed id → ETag of the bytes on disk

    def refresh(self) -> list[str]:
        """Write changed feeds (temporary file + rename), drop revoked ones; return ids written."""
        written = []
        for row in self.read_models.feeds():
            path = self.directory / f"{row['feed_id']}.ics"
            if row["revoked_at"] is not None:
                path.unlink(missing_ok=True)
                self._written.pop(row["feed_id"], None)
                continue
            stored = FeedSpec.from_row(row)
            spec = replace(stored, include_restricted=stored.include_restricted and self.cleared)
            etag = self.publisher.validators(spec).etag
            if self._written.get(spec.feed_id) == etag and path.exists():
                continue
            write_atomically(path, self.publisher.render(spec))
            self._written[spec.feed_id] = etag
            written.append(spec.feed_id)
        return written
