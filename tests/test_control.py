"""The config watcher and how a file edit meets live changes, on a real (not started)
Pipeline: an edit applies what was edited; a tray or ctl choice on another key stays."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEMO_CLIP
from vcam.config import load
from vcam.control.controller import ControlError, Controller
from vcam.control.watch import ConfigWatcher
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource
from vcam.stages.outputs import FileOutput


@pytest.fixture()
def live(tmp_path: Path) -> Iterator[tuple[Controller, Pipeline, Path]]:
    path = tmp_path / "config.toml"
    path.write_text('effect = "blur"\nblur = 12\n', encoding="utf-8")
    source = VideoFileSource(DEMO_CLIP)
    pipeline = Pipeline(load(path), source,
                        FileOutput(tmp_path / "o.mp4", source.width, source.height, 30))
    yield Controller(pipeline, path), pipeline, path
    pipeline.stop()
    source.close()


def test_watcher_reports_an_edit_once(live: tuple[Controller, Pipeline, Path]) -> None:
    controller, pipeline, path = live
    changed = threading.Event()
    calls: list[bool] = []

    def on_change() -> None:
        calls.append(controller.reload(edits_only=True))
        changed.set()

    watcher = ConfigWatcher(path, on_change, interval=0.05)
    watcher.start()
    try:
        controller.set_mirror(True)  # a tray choice on a key the edit leaves alone
        path.write_text('effect = "desaturate"\nblur = 12\n', encoding="utf-8")
        assert changed.wait(3), "the edit was not seen"
        assert pipeline.config.effect == "desaturate" and pipeline.config.mirror
        changed.clear()
        path.write_text('effect = "desaturate"\nblur = 99\n', encoding="utf-8")
        assert changed.wait(3)
        assert calls == [True, False]
        assert "blur: must be from 1 to 50, got 99" in controller.config_error
        assert pipeline.config.blur == 12 and controller.status().error
    finally:
        watcher.close()
    assert not watcher._thread.is_alive()


def test_reload_takes_the_whole_file_and_a_missing_file_is_refused(
        live: tuple[Controller, Pipeline, Path]) -> None:
    controller, pipeline, path = live
    controller.set_effect("none")
    controller.set_blur(40)
    assert controller.reload() is True  # a plain reload: every live key from the file
    assert (pipeline.config.effect, pipeline.config.blur) == ("blur", 12)
    path.unlink()
    with pytest.raises(ControlError, match="does not exist; nothing to reload"):
        controller.reload()
    assert controller.reload(edits_only=True) is True  # the watcher: keep what runs
    assert pipeline.config.effect == "blur"
