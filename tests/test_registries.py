"""One registry per family: a throw-away effect registered in one place shows up in
every surface (CLI, config.toml, tray, `vcam ctl`, preview keys, icon, `vcam apply`),
and outputs are opened by name or extension with a clear error for anything else."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CLIP, imread
from vcam.cli import build_parser
from vcam.config import Config, parse
from vcam.control.controller import Controller
from vcam.control.ctl import ControlServer, commands, request
from vcam.control.icon import draw_icon
from vcam.control.keys import key_map
from vcam.control.tray import Tray, load_pystray
from vcam.errors import OutputError
from vcam.live.pipeline import Pipeline
from vcam.offline.apply import Applier
from vcam.offline.plan import Job, Kind
from vcam.stages.capture import VideoFileSource
from vcam.stages.effects import (
    EFFECTS,
    EffectParams,
    EffectSpec,
    blend_into,
    effect_names,
    register_effect,
)
from vcam.stages.outputs import (
    OUTPUTS,
    FileOutput,
    OutputRequest,
    open_output,
    register_output,
)


def effect_invert(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    """The background in negative: a throw-away effect for this test."""
    return blend_into(255 - frame, frame, alpha)


@pytest.fixture()
def invert() -> Iterator[EffectSpec]:
    spec = register_effect(EffectSpec("invert", effect_invert, "Invert", 35, "i",
                                      (200, 60, 60), "bands", help="the background in negative"))
    yield spec
    del EFFECTS["invert"]


def test_a_new_effect_is_one_entry_and_every_surface_has_it(
        invert: EffectSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert effect_names().index("invert") == effect_names().index("desaturate") + 1
    # The command line: run and apply take it, and their help names it.
    parser = build_parser()
    assert parser.parse_args(["run", "--effect", "invert"]).effect == "invert"
    assert parser.parse_args(["apply", "x.png", "-o", "y.png", "--effect", "invert"]).effect \
        == "invert"
    # config.toml
    assert parse({"effect": "invert"}, "config.toml").effect == "invert"
    # vcam ctl's help, and the command itself against a live controller
    assert "invert" in (commands()["effect"] or "").split("|")
    source = VideoFileSource(DEMO_CLIP)
    out = FileOutput(tmp_path / "out.mp4", source.width, source.height, 30)
    pipeline = Pipeline(Config(effect="none"), source, out)
    controller = Controller(pipeline, None)
    server = ControlServer(controller, tmp_path / "ctl.sock")
    server.start()
    try:
        reply = request("effect", "invert", path=tmp_path / "ctl.sock")
        assert reply["ok"] and reply["status"]["effect"] == "invert", reply
        assert pipeline.config.effect == "invert"
        # The preview window's keys
        controller.set_effect("none")
        key_map(controller)["i"]()
        assert pipeline.config.effect == "invert"
        # The tray menu (pystray's dummy backend) and its icon
        monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
        monkeypatch.delenv("DISPLAY", raising=False)
        pystray, reason = load_pystray()
        assert pystray is not None, reason
        tray = Tray(controller, pystray)
        item = next(i for i in tray.icon.menu if i.text == "Invert")
        assert item.checked
        assert np.array_equal(np.asarray(tray.icon.icon), np.asarray(draw_icon("invert")))
        assert not np.array_equal(np.asarray(draw_icon("invert")),
                                  np.asarray(draw_icon("desaturate")))
    finally:
        server.close()
        pipeline.stop()
        source.close()


def test_a_new_effect_runs_in_vcam_apply(invert: EffectSpec, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    frame = VideoFileSource(DEMO_CLIP, realtime=False).read()
    assert frame is not None
    cv2.imwrite(str(photo), frame)
    applier = Applier(Config(), "invert", quiet=True)
    try:
        applier.apply(Job(photo, tmp_path / "out.png", Kind.IMAGE))
    finally:
        applier.close()
    result = imread(tmp_path / "out.png")
    corner = (slice(0, 40), slice(0, 40))  # wall behind the person
    assert np.abs(result[corner].astype(int) - (255 - frame[corner].astype(int))).mean() < 3


def test_a_taken_name_or_key_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_effect(EffectSpec("blur", effect_invert, "Blur", 1, "z", (0, 0, 0)))
    with pytest.raises(ValueError, match="preview key 'l'"):
        register_effect(EffectSpec("other", effect_invert, "Other", 1, "l", (0, 0, 0)))
    with pytest.raises(ValueError, match="unknown settings"):
        register_effect(EffectSpec("other", effect_invert, "Other", 1, "z", (0, 0, 0),
                                   reads=frozenset({"sparkle"})))


REQUEST = OutputRequest(64, 48, 30)


@pytest.mark.parametrize(("spec", "words"), [
    ("rtmp://live.example/app", "SelfieCam has no rtmp:// output"),
    ("recording", "a name without an extension is no output"),
    ("clip.gif", "a .gif file is no output"),
])
def test_an_unknown_output_is_an_error_listing_what_exists(spec: str, words: str) -> None:
    with pytest.raises(OutputError) as e:
        open_output(spec, REQUEST)
    message = str(e.value)
    assert words in message
    assert "virtual (the SelfieCam virtual camera)" in message and "window" in message
    assert ".mp4" in message and ".avi" in message


def test_outputs_open_by_extension_and_a_registered_name(tmp_path: Path) -> None:
    out = open_output(str(tmp_path / "a.MP4"), REQUEST)
    assert isinstance(out, FileOutput) and out.label == "file a.MP4"
    out.send(np.zeros((48, 64, 3), np.uint8))
    out.close()
    assert (tmp_path / "a.MP4").stat().st_size > 0

    class Null:
        description = label = "nowhere"
        sent = 0

        def send(self, frame: np.ndarray) -> None:
            Null.sent += 1

        def close(self) -> None:
            pass

    def open_null(spec: str, request: OutputRequest) -> Any:
        return Null()

    register_output("null", open_null, "frames go nowhere")
    try:
        got = open_output("null", REQUEST)
        got.send(np.zeros((48, 64, 3), np.uint8))
        assert Null.sent == 1
        sub = next(a for a in build_parser()._actions
                   if isinstance(a, argparse._SubParsersAction))
        assert "null (frames go nowhere)" in " ".join(sub.choices["run"].format_help().split())
    finally:
        del OUTPUTS["null"]
