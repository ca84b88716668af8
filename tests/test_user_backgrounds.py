"""The backgrounds a user adds from the tray: written back into their real
config.toml with its comments kept, used at once by the real Controller over a
real (not started) Pipeline, removed again; a file that is not valid is named
and left alone; and the config watcher reading the file we wrote stays quiet."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CLIP
from tests.test_pipeline import Recorder
from vcam.config import load
from vcam.control.controller import ControlError, Controller
from vcam.control.watch import ConfigWatcher
from vcam.errors import ConfigError
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource

REPO = Path(__file__).resolve().parents[1]
USER_FILE = """\
# my SelfieCam settings
effect = "blur"   # blur in calls
blur = 20

# the ones I like
backgrounds = [
    "mine.png",  # the garden
]
"""


def image(path: Path, colour: tuple[int, int, int] = (20, 180, 40)) -> Path:
    cv2.imwrite(str(path), np.full((90, 160, 3), colour, np.uint8))
    return path


@pytest.fixture()
def live(tmp_path: Path) -> Iterator[tuple[Controller, Path]]:
    image(tmp_path / "mine.png")
    cfg = tmp_path / "config.toml"
    cfg.write_text(USER_FILE, encoding="utf-8")
    source = VideoFileSource(DEMO_CLIP)
    controller = Controller(Pipeline(load(cfg), source, Recorder()), cfg)
    yield controller, cfg
    source.close()


def test_an_added_background_shows_at_once_and_joins_the_list_comments_kept(
        live: tuple[Controller, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    controller, cfg = live
    beach = image(tmp_path / "Beach.JPG", (200, 120, 30))
    with caplog.at_level(logging.INFO):
        controller.add_background(beach)
    assert controller.config.background == str(beach)
    assert controller.config.effect == "replace"  # blur shows no background
    assert "effect blur shows no background; switching to replace" in caplog.text
    assert controller.background in controller.user_backgrounds()
    after = cfg.read_text(encoding="utf-8")
    assert after == USER_FILE.replace('    "mine.png",  # the garden\n',
                                      f'    "mine.png",  # the garden\n    "{beach}",\n')
    assert load(cfg).backgrounds == ((tmp_path / "mine.png"), beach)
    controller.add_background(beach)  # already listed: the file stays as it is
    assert cfg.read_text(encoding="utf-8") == after

    caplog.clear()
    controller.set_effect("replace")
    with caplog.at_level(logging.INFO):
        controller.add_background(tmp_path / "mine.png")  # listed as "mine.png": not again
    assert "switching" not in caplog.text
    assert cfg.read_text(encoding="utf-8") == after


def test_the_documented_config_keeps_every_comment(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    original = (REPO / "config.toml").read_text(encoding="utf-8")
    cfg.write_text(original, encoding="utf-8")
    source = VideoFileSource(DEMO_CLIP)
    try:
        controller = Controller(Pipeline(load(cfg), source, Recorder()), cfg)
        controller.add_background(image(tmp_path / "new.png"))
    finally:
        source.close()
    added = [line for line in cfg.read_text(encoding="utf-8").splitlines()
             if line not in original.splitlines()]
    assert added == [f'    "{tmp_path / "new.png"}",']
    assert len(cfg.read_text().splitlines()) == len(original.splitlines()) + 1


def test_a_missing_config_file_is_created_and_loads(tmp_path: Path) -> None:
    cfg = tmp_path / "xdg" / "selfiecam" / "config.toml"
    source = VideoFileSource(DEMO_CLIP)
    try:
        controller = Controller(Pipeline(load(REPO / "config.toml"), source, Recorder()), cfg)
        bg = image(tmp_path / "bg.webp")
        controller.add_background(bg)
    finally:
        source.close()
    assert load(cfg).backgrounds == (bg,)
    assert cfg.read_text().startswith("# SelfieCam configuration")


def test_remove_this_background_falls_back_to_the_next(live: tuple[Controller, Path],
                                                      tmp_path: Path) -> None:
    controller, cfg = live
    mine = str((tmp_path / "mine.png").resolve())
    controller.set_background(mine)
    following = controller.backgrounds()[controller.backgrounds().index(mine) + 1]
    controller.remove_background(mine)
    assert mine not in controller.user_backgrounds() and mine not in controller.backgrounds()
    assert controller.background == following  # as "next" would have gone
    text = cfg.read_text(encoding="utf-8")
    assert "# the ones I like" in text and "# my SelfieCam settings" in text
    assert load(cfg).backgrounds == ()
    with pytest.raises(ConfigError) as e:
        controller.remove_background(mine)
    assert str(cfg) in str(e.value) and "backgrounds" in str(e.value)


@pytest.mark.parametrize(("text", "key"), [
    ('effect = "blur"\nbackgrounds = [\n  "a.png",\n', "(syntax)"),  # an unfinished edit
    ('backgrounds = "mine.png"  # a string, not a list\n', "backgrounds"),
    ('effect = "sparkle"\n', "effect"),
])
def test_a_file_that_is_not_valid_is_named_and_not_overwritten(
        live: tuple[Controller, Path], tmp_path: Path, text: str, key: str) -> None:
    controller, cfg = live
    cfg.write_text(text, encoding="utf-8")
    before = controller.config
    with pytest.raises(ConfigError) as e:
        controller.add_background(image(tmp_path / "x.png"))
    assert str(e.value).startswith(f"{cfg}: {key}: ")
    assert cfg.read_text(encoding="utf-8") == text
    assert controller.config is before  # nothing shown either


def test_only_images_and_videos_are_added(live: tuple[Controller, Path], tmp_path: Path) -> None:
    controller, cfg = live
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ControlError, match="not an image or video file"):
        controller.add_background(tmp_path / "notes.txt")
    assert cfg.read_text(encoding="utf-8") == USER_FILE


def test_the_watcher_reads_our_write_without_an_error_or_a_loop(
        live: tuple[Controller, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    controller, cfg = live
    watcher = ConfigWatcher(cfg, lambda: controller.reload(edits_only=True), interval=0.05)
    watcher.start()
    try:
        with caplog.at_level(logging.INFO):
            controller.add_background(image(tmp_path / "new.png"))
            shown = controller.config
            deadline = time.monotonic() + 10
            while "read; nothing to change" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.02)
            # Several more intervals: a loop would reload again.
            for _ in range(10):
                time.sleep(0.05)
    finally:
        watcher.close()
    assert caplog.text.count("changed; reloading it") == 1, caplog.text
    assert controller.config_error == "" and controller.config is shown
