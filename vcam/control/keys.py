"""The preview window's keys: one per effect (from the effect registry) and a few
for the rest, all calling the shared :class:`~vcam.control.controller.Controller`."""

from __future__ import annotations

from collections.abc import Callable

from vcam.control.controller import Controller
from vcam.stages.effects import effect_names, get_effect

FIXED_KEYS = {"b": "next background", "m": "mirror", "q": "quit"}
"""Keys that are not effects (Esc quits too)."""


def key_map(controller: Controller) -> dict[str, Callable[[], object]]:
    """Every key and what it does; an effect's key is the one its registry entry names."""
    keys: dict[str, Callable[[], object]] = {
        "q": controller.quit, "\x1b": controller.quit,
        "b": lambda: controller.step_background(1),
        "m": lambda: controller.set_mirror(not controller.config.mirror),
    }
    for name in effect_names():
        key = get_effect(name).key
        if key in keys:
            raise ValueError(f"effect {name!r}: preview key {key!r} is taken by "
                             f"{FIXED_KEYS.get(key, 'another command')}")
        keys[key] = _chooser(controller, name)
    return keys


def _chooser(controller: Controller, effect: str) -> Callable[[], None]:
    return lambda: controller.set_effect(effect)


def key_legend() -> str:
    """The keys, for the preview window's caption: ``keys l r d t n b m q``."""
    return "keys " + " ".join([*(get_effect(n).key for n in effect_names()), *FIXED_KEYS])


class PreviewKeys:
    """The preview window's ``on_key`` and ``caption``, for a controller made later
    (the window opens before the pipeline it controls exists)."""

    def __init__(self) -> None:
        self.controller: Controller | None = None

    def press(self, ch: str) -> None:
        action = key_map(self.controller).get(ch) if self.controller is not None else None
        if action is not None:
            action()

    def caption(self) -> str:
        if self.controller is None:
            return ""
        st = self.controller.status()
        return f"{st.effect} | {st.fps:.0f} fps | {key_legend()}"
