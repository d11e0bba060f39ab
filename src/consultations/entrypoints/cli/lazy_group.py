"""A click group that imports a sub-command's module only when that command is used.

Click's documented lazy-loading pattern (``LazyGroup``, "Lazily Loading Subcommands" in
click's guide to complex applications), plus one step further: ``--help`` lists every
command with the short help kept in the table, so listing the commands imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any, NamedTuple

import click


class Lazy(NamedTuple):
    """Where a sub-command lives, and what ``--help`` says of it before it is imported."""

    target: str
    """``module:attribute``, the module relative to the group's ``package``."""
    help: str
    """The first paragraph of the command's docstring, on one line (a test keeps them equal)."""


class LazyGroup(click.Group):
    """A group whose sub-commands are imported by name, when first resolved."""

    def __init__(
        self, *args: Any, package: str, lazy_subcommands: Mapping[str, Lazy], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.package = package
        self.lazy_subcommands = dict(lazy_subcommands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Eagerly added commands and lazy ones, sorted by name."""
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command named ``cmd_name``, importing its module the first time."""
        if cmd_name not in self.commands and cmd_name in self.lazy_subcommands:
            self.add_command(self.load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Click's, but a mistyped name is compared with every command, lazy ones included."""
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as error:
            raise click.exceptions.NoSuchCommand(
                error.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def load(self, cmd_name: str) -> click.Command:
        """Import the command ``cmd_name`` from its module."""
        target = self.lazy_subcommands[cmd_name].target
        module, _, attribute = target.partition(":")
        command = getattr(import_module(f"{self.package}.{module}"), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands section of ``--help``, as click writes it, without importing any."""
        names = [
            name
            for name in self.list_commands(ctx)
            if name not in self.commands or not self.commands[name].hidden
        ]
        if not names:
            return
        limit = formatter.width - 6 - max(map(len, names))
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.listed_help(name, limit)) for name in names])

    def listed_help(self, cmd_name: str, limit: int) -> str:
        """The command's short help: its own once imported, else the table's."""
        if cmd_name in self.commands:
            return self.commands[cmd_name].get_short_help_str(limit)
        stand_in = click.Command(cmd_name, help=self.lazy_subcommands[cmd_name].help)
        return stand_in.get_short_help_str(limit)
