"""The tray menu model over the real Controller and a real (not started) Pipeline,
through pystray's ``dummy`` backend: no display needed.  ``run()`` is never
called on the dummy icon (it would leave a blocked thread behind)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CLIP
from vcam import assets_dir
from vcam.config import ModelChoice, load
from vcam.control.controller import Controller
from vcam.control.icon import draw_icon
from vcam.control.tray import Tray, load_pystray
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource
from vcam.stages.outputs import FileOutput


def write_config(path: Path, **keys: str) -> None:
    path.write_text("".join(f"{k} = {v}\n" for k, v in keys.items()), encoding="utf-8")


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Tray, Controller,
                                                                              Pipeline, Path]]:
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # autostart's files go here
    cv2.imwrite(str(tmp_path / "mine.png"), np.full((90, 160, 3), (10, 200, 30), np.uint8))
    cfg_path = tmp_path / "config.toml"
    write_config(cfg_path, effect='"none"', background='"white"', backgrounds='["mine.png"]')
    source = VideoFileSource(DEMO_CLIP)
    output = FileOutput(tmp_path / "out.mp4", source.width, source.height, 30)
    pipeline = Pipeline(load(cfg_path), source, output)
    controller = Controller(pipeline, cfg_path, camera="single_face.mp4", output="file out.mp4")
    pystray, reason = load_pystray()
    assert pystray is not None, reason
    tray = Tray(controller, pystray)
    assert tray.backend == "dummy"
    yield tray, controller, pipeline, tmp_path
    pipeline.stop()
    source.close()


def same(a: Any, b: Any) -> bool:
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def visible(menu: Any) -> list[Any]:
    """The menu's items as a backend shows them (no separators)."""
    return [i for i in menu if i is not type(menu).SEPARATOR]


def by_text(menu: Any, text: str) -> Any:
    for item in menu:
        if item.text == text:
            return item
    raise AssertionError(f"no item {text!r} in {[i.text for i in menu]}")


def checked(menu: Any) -> list[str]:
    return [i.text for i in visible(menu) if i.checked]


def test_menu_items_and_radio_states(setup: tuple[Tray, Controller, Pipeline, Path]) -> None:
    tray, controller, _, _ = setup
    menu = tray.icon.menu
    texts = [i.text for i in visible(menu)]
    assert texts[1:] == ["None", "Replace", "Blur", "Desaturate", "Transparent (key colour)",
                         "Background", "Blur strength", "Looks", "Model", "Mirror", "Pause",
                         "Show preview", "Start at login", "Open config file", "Reload config",
                         "Quit"]
    status = visible(menu)[0]
    assert not status.enabled and "single_face.mp4" in status.text and "out.mp4" in status.text
    effects = [by_text(menu, t) for t in ("None", "Blur", "Replace", "Desaturate")]
    assert all(i.radio for i in effects)
    assert checked(menu) == ["None"]  # from config.toml; Mirror and Pause unticked
    assert [i.text for i in visible(by_text(menu, "Model").submenu) if i.checked] == ["General"]
    blur = by_text(menu, "Blur strength").submenu
    assert checked(blur) == ["Medium (12)"]


def test_callbacks_change_the_live_state(setup: tuple[Tray, Controller, Pipeline, Path]) -> None:
    tray, controller, pipeline, _ = setup
    menu = tray.icon.menu
    before = tray.icon.icon
    by_text(menu, "Blur")(tray.icon)
    assert pipeline.config.effect == "blur" and controller.config.effect == "blur"
    assert checked(menu) == ["Blur"]
    assert same(tray.icon.icon, draw_icon("blur")) and not same(tray.icon.icon, before)

    by_text(by_text(menu, "Blur strength").submenu, "Heavy (50)")(tray.icon)
    assert pipeline.config.blur == 50
    controller.set_blur(18)  # e.g. from vcam ctl: shown as a checked "Custom" item
    assert checked(by_text(menu, "Blur strength").submenu) == ["Custom (18)"]

    by_text(by_text(menu, "Model").submenu, "Landscape")(tray.icon)
    assert pipeline.config.model is ModelChoice.LANDSCAPE

    by_text(menu, "Mirror")(tray.icon)
    assert pipeline.config.mirror and by_text(menu, "Mirror").checked
    by_text(menu, "Pause")(tray.icon)
    assert pipeline.paused and by_text(menu, "Pause").checked
    assert same(tray.icon.icon, draw_icon("blur", paused=True))
    assert visible(menu)[0].text.startswith("paused")
    by_text(menu, "Pause")(tray.icon)
    assert not pipeline.paused

    by_text(menu, "Quit")(tray.icon)
    assert pipeline.done.is_set()


def test_backgrounds_submenu(setup: tuple[Tray, Controller, Pipeline, Path]) -> None:
    tray, controller, pipeline, tmp_path = setup
    sub = by_text(tray.icon.menu, "Background").submenu
    names = [i.text for i in visible(sub)]
    bundled = sorted(p.name for p in (assets_dir() / "backgrounds").iterdir()
                     if p.suffix in (".jpg", ".mp4"))
    # configured first, then the bundled ones, then the current colour; then Next.
    # "Remove this background" is hidden: white is no background of the user's.
    assert names == ["mine.png", *bundled, "Colour white", "Next background",
                     "Add background…"]
    assert not by_text(sub, "Add background…").enabled  # the dummy backend runs no GTK loop
    assert checked(sub) == ["Colour white"]
    by_text(sub, "mine.png")(tray.icon)
    assert pipeline.config.background == str((tmp_path / "mine.png").resolve())
    assert pipeline.config.effect == "replace"  # choosing a background shows it
    assert checked(sub) == ["mine.png"]
    assert [i.text for i in visible(sub)][-1] == "Remove this background"
    by_text(sub, "Next background")(tray.icon)
    assert checked(sub) == [bundled[0]]
    assert Path(pipeline.config.background).name == bundled[0]
    assert [i.text for i in visible(sub)][-1] == "Add background…"  # bundled: not the user's


def test_remove_this_background_edits_config_toml(
        setup: tuple[Tray, Controller, Pipeline, Path]) -> None:
    tray, controller, pipeline, tmp_path = setup
    sub = by_text(tray.icon.menu, "Background").submenu
    by_text(sub, "mine.png")(tray.icon)
    by_text(sub, "Remove this background")(tray.icon)
    assert load(tmp_path / "config.toml").backgrounds == ()
    assert "mine.png" not in [i.text for i in visible(by_text(tray.icon.menu,
                                                              "Background").submenu)]
    assert Path(pipeline.config.background).parent == assets_dir() / "backgrounds"


def test_reload_and_a_bad_edit(setup: tuple[Tray, Controller, Pipeline, Path]) -> None:
    tray, controller, pipeline, tmp_path = setup
    menu = tray.icon.menu
    cfg_path = tmp_path / "config.toml"
    write_config(cfg_path, effect='"desaturate"', blur="30")
    by_text(menu, "Reload config")(tray.icon)
    assert (pipeline.config.effect, pipeline.config.blur) == ("desaturate", 30)
    assert checked(menu) == ["Desaturate"]

    write_config(cfg_path, effect='"sparkle"')
    by_text(menu, "Reload config")(tray.icon)
    assert pipeline.config.effect == "desaturate"  # the running settings stay
    assert "sparkle" in controller.config_error
    texts = [i.text for i in visible(menu)]
    assert texts[0].startswith("Config error")
    assert texts[1].startswith("Config error: ") and "effect" in texts[1]
    assert same(tray.icon.icon, draw_icon("desaturate", error=True))

    write_config(cfg_path, effect='"blur"')
    by_text(menu, "Reload config")(tray.icon)
    assert controller.config_error == "" and pipeline.config.effect == "blur"
    assert same(tray.icon.icon, draw_icon("blur"))


def test_open_config_creates_a_loadable_file(
        setup: tuple[Tray, Controller, Pipeline, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    tray, controller, _, tmp_path = setup
    missing = tmp_path / "new" / "config.toml"
    controller.config_path = missing
    monkeypatch.setenv("PATH", str(tmp_path))  # no xdg-open: a warning, not a crash
    by_text(tray.icon.menu, "Open config file")(tray.icon)
    cfg = load(missing)
    assert cfg.effect == controller.config.effect
    assert cfg.backgrounds == controller.config.backgrounds


def test_no_display_means_headless(tmp_path: Path) -> None:
    """The real import path in a fresh interpreter: no display, or a display that is
    not there (``import pystray`` raises Xlib's DisplayNameError), is a reason, not a crash."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYSTRAY_BACKEND", "DISPLAY")}
    code = "from vcam.control.tray import load_pystray; m, why = load_pystray(); print(m, '|', why)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=root, timeout=60)
    assert out.stdout.strip() == "None | no display", out.stderr
    env["DISPLAY"] = ":93"  # no X server there
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=root, timeout=60)
    assert out.stdout.startswith("None | no tray backend ("), out.stdout + out.stderr


def test_show_preview_without_a_display_says_so_and_stays_unticked(
        setup: tuple[Tray, Controller, Pipeline, Path], caplog: pytest.LogCaptureFixture) -> None:
    tray, _, pipeline, _ = setup
    item = by_text(tray.icon.menu, "Show preview")
    assert not item.checked
    item(tray.icon)
    assert not by_text(tray.icon.menu, "Show preview").checked
    assert "no preview window: there is no display here" in caplog.text
    assert len(pipeline.viewers) == 0


def test_start_at_login_writes_and_removes_the_autostart_entries(
        setup: tuple[Tray, Controller, Pipeline, Path]) -> None:
    tray, _, _, tmp_path = setup
    item = by_text(tray.icon.menu, "Start at login")
    entry = tmp_path / "xdg" / "autostart" / "selfiecam.desktop"
    unit = tmp_path / "xdg" / "systemd" / "user" / "selfiecam.service"
    assert not item.checked and not entry.exists()
    item(tray.icon)
    assert entry.is_file() and unit.is_file() and "vcam" in entry.read_text()
    assert by_text(tray.icon.menu, "Start at login").checked
    item(tray.icon)
    assert not entry.exists() and not unit.exists()
    assert not by_text(tray.icon.menu, "Start at login").checked


def test_looks_menu_switches_each_look_and_sets_its_strength(
        setup: tuple[Tray, Controller, Pipeline, Path]) -> None:
    tray, controller, pipeline, _ = setup
    looks = by_text(tray.icon.menu, "Looks").submenu
    assert [i.text for i in visible(looks)] == [
        "Auto-framing", "Studio light", "Touch-up", "Auto-framing strength",
        "Studio light strength", "Touch-up strength"]
    assert checked(looks) == []
    by_text(looks, "Auto-framing")(tray.icon)
    assert pipeline.config.looks.frame and checked(looks) == ["Auto-framing"]
    assert controller.status().looks == "frame 50"
    strengths = by_text(looks, "Studio light strength").submenu
    assert checked(strengths) == ["Strong (75)"]
    by_text(strengths, "Subtle (25)")(tray.icon)
    assert pipeline.config.looks.light_strength == 25 and checked(strengths) == ["Subtle (25)"]
    assert not pipeline.config.looks.light  # a strength alone does not switch it on
    by_text(looks, "Auto-framing")(tray.icon)
    assert not pipeline.config.looks.frame and controller.status().looks == "none"
