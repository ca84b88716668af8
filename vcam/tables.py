"""Typed values out of one TOML table: each read names its key, checks its type and
range, and the keys never read are refused with a did-you-mean (a misspelt key
silently ignored is a setting the user believes in but never gets)."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any, TypeVar

from vcam.colours import COLOUR_FORMS, Colour, parse_colour
from vcam.errors import ConfigError

T = TypeVar("T")


def within(default: Any, lo: float, hi: float) -> Any:
    """A dataclass field's default and the range config.toml may set it in
    (read by :meth:`TableReader.fields_of`)."""
    return dataclasses.field(default=default, metadata={"range": (lo, hi)})


class TableReader:
    """Pulls typed values out of one TOML table, remembering which keys were used."""

    def __init__(self, source: str, table: Mapping[str, Any], prefix: str = "") -> None:
        self.source = source
        self.table = table
        self.prefix = prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.source, self.key(name), message)

    def get(self, name: str, default: Any) -> Any:
        self.used.add(name)
        return self.table.get(name, default)

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        v = self.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(name, f"expected a whole number from {lo} to {hi}, got {v!r}")
        if not lo <= v <= hi:
            raise self.error(name, f"must be from {lo} to {hi}, got {v}")
        return v

    def boolean(self, name: str, default: bool) -> bool:
        v = self.get(name, default)
        if not isinstance(v, bool):
            raise self.error(name, f"expected true or false, got {v!r}")
        return v

    def string(self, name: str, default: str) -> str:
        v = self.get(name, default)
        if not isinstance(v, str):
            raise self.error(name, f"expected a string, got {v!r}")
        return v

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        v = self.string(name, default)
        if v not in allowed:
            raise self.error(
                name, f"must be one of {', '.join(allowed)}, got {v!r}{_hint(v, allowed)}")
        return v

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        v = self.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(name, f"expected a number from {lo} to {hi}, got {v!r}")
        if not lo <= v <= hi:
            raise self.error(name, f"must be from {lo} to {hi}, got {v}")
        return float(v)

    def colour(self, name: str, default: str) -> Colour:
        v = self.string(name, default)
        c = parse_colour(v)
        if c is None:
            raise self.error(name, f"expected a colour: {COLOUR_FORMS}; got {v!r}")
        return c

    def table_of(self, name: str) -> TableReader:
        v = self.get(name, {})
        if not isinstance(v, Mapping):
            raise self.error(name, f"expected a table [{self.key(name)}], got {v!r}")
        return TableReader(self.source, v, f"{self.key(name)}.")

    def reject_unknown(self) -> None:
        for k in self.table:
            if k not in self.used:
                raise self.error(k, f"unknown key{_hint(k, tuple(self.used))}")


    def fields_of(self, cls: type[T], defaults: T) -> T:
        """A frozen dataclass whose every field is read from this table by its name:
        booleans as they are, numbers within the field's ``metadata["range"]``."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            default = getattr(defaults, f.name)
            if isinstance(default, bool):
                values[f.name] = self.boolean(f.name, default)
            elif isinstance(default, int):
                values[f.name] = self.integer(f.name, default, *f.metadata["range"])
            else:
                values[f.name] = self.number(f.name, default, *f.metadata["range"])
        return cls(**values)


def _hint(word: str, allowed: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
