"""Feed files in a folder, for a static web server: rewritten only when their content changed."""

from __future__ import annotations

from pathlib import Path

from consultations.adapters.atomic_file import write_atomically
from consultations.adapters.read_models import ReadModels
from consultations.service_layer.feeds import FeedPublisher, FeedSpec


class FeedFiles:
    """Keeps ``<feed_id>.ics`` in ``directory`` in step with every live feed."""

    def __init__(self, publisher: FeedPublisher, read_models: ReadModels, directory: Path) -> None:
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
            spec = FeedSpec.from_row(row)
            etag = self.publisher.validators(spec).etag
            if self._written.get(spec.feed_id) == etag and path.exists():
                continue
            write_atomically(path, self.publisher.render(spec))
            self._written[spec.feed_id] = etag
            written.append(spec.feed_id)
        return written
