"""The composition root: every port can be handed in, nothing connects, layers point down."""

import ast
from datetime import UTC, datetime
from pathlib import Path

from consultations.bootstrap import bootstrap
from consultations.settings import Settings

SRC = Path(__file__).resolve().parents[1] / "src" / "consultations"
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class Recorder:
    """A channel that keeps what it is given."""

    name = "recorder"
    cleared = False

    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, notification: object) -> None:
        self.sent.append(notification)


def test_ports_handed_in_are_the_ones_used(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    channel = Recorder()
    app = bootstrap(Settings(f"sqlite:///{database}"), clock=lambda: NOW, channels=[channel])
    try:
        assert app.clock() == NOW
        assert app.commands.clock() == NOW
        assert app.feeds.clock() == NOW
        assert app.channels() == [channel]
        dispatcher = app.dispatcher(app.outbox("test"), lease=NOW - NOW)
        assert list(dispatcher.channels.values()) == [channel]
        assert dispatcher.clock() == NOW
        assert not database.exists(), "bootstrap must not connect"
    finally:
        app.close()


def test_channels_default_to_the_settings(tmp_path: Path) -> None:
    app = bootstrap(Settings(f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        assert [channel.name for channel in app.channels()] == ["console"]
    finally:
        app.close()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_nothing_below_the_entry_points_imports_the_composition_root() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for layer in ("domain", "adapters", "service_layer")
        for path in (SRC / layer).rglob("*.py")
        if "consultations.bootstrap" in _imports(path)
    ]
    assert offenders == []


def test_the_layers_import_only_downwards() -> None:
    # domain <- service_layer and adapters <- entry points; the domain imports no framework.
    below = {
        "domain": ("consultations.service_layer", "consultations.adapters",
                   "consultations.entrypoints", "sqlalchemy", "apscheduler", "ics"),
        "service_layer": ("consultations.entrypoints",),
        "adapters": ("consultations.entrypoints",),
    }  # fmt: skip
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for layer, forbidden in below.items()
        for path in (SRC / layer).rglob("*.py")
        for name in sorted(_imports(path))
        if any(name == top or name.startswith(f"{top}.") for top in forbidden)
    ]
    assert offenders == []
