"""config.toml: the documented default, and every way a config can be wrong."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from vcam.config import (
    Config,
    ConfigError,
    ModelChoice,
    load,
    load_default,
    parse,
    parse_colour,
)
from vcam.stages.backgrounds import SolidBackground, load_background

REPO = Path(__file__).resolve().parents[1]


def test_repo_config_is_the_documented_default() -> None:
    cfg = load(REPO / "config.toml")
    defaults = Config()
    for f in dataclasses.fields(Config):
        if f.name in ("backgrounds", "source"):
            continue
        assert getattr(cfg, f.name) == getattr(defaults, f.name), f.name
    assert len(cfg.backgrounds) >= 4
    for bg in cfg.backgrounds:
        assert bg.is_file(), f"bundled background listed in config.toml is missing: {bg}"


def test_values_are_typed() -> None:
    cfg = parse({"effect": "replace", "model": "landscape", "background": "#336699",
                 "key_colour": "magenta", "camera": {"device": "/dev/video3", "fps": 60}},
                "t.toml")
    assert cfg.effect == "replace"
    assert cfg.model is ModelChoice.LANDSCAPE
    assert cfg.background == "#336699"
    assert cfg.key_colour == (255, 0, 255)
    assert cfg.camera.device == "/dev/video3" and cfg.camera.fps == 60
    assert parse({"camera": {"device": 2}}, "t").camera.device == 2


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"effect": "blurr"}, "effect", "did you mean 'blur'"),
        ({"effect": 3}, "effect", "expected a string"),
        ({"model": "huge"}, "model", "general, landscape, auto"),
        ({"mirror": "yes"}, "mirror", "true or false"),
        ({"blur": 0}, "blur", "from 1 to 50"),
        ({"blur": 2.5}, "blur", "whole number"),
        ({"key_colour": "#12345"}, "key_colour", "colour"),
        ({"backgrounds": "a.png"}, "backgrounds", "list of paths"),
        ({"efect": "blur"}, "efect", "did you mean 'effect'"),
        ({"camera": {"widht": 640}}, "camera.widht", "did you mean 'width'"),
        ({"camera": {"device": True}}, "camera.device", "camera index"),
        ({"camera": {"device": -1}}, "camera.device", "0 or more"),
        ({"camera": {"fps": 1000}}, "camera.fps", "from 1 to 240"),
        ({"camera": {"fourcc": "MJPEG"}}, "camera.fourcc", "four characters"),
        ({"camera": "usb"}, "camera", "expected a table"),
        ({"virtual_camera": {"fps": -1}}, "virtual_camera.fps", "from 0 to 240"),
        ({"refine": {"threshold": 2}}, "refine.threshold", "from 0.05 to 0.95"),
        ({"log_level": "loud"}, "log_level", "debug, info, warning, error"),
    ],
)
def test_errors_name_file_key_and_what_is_allowed(data: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse(data, "/home/u/.config/selfiecam/config.toml")
    assert e.value.key == key
    msg = str(e.value)
    assert msg.startswith("/home/u/.config/selfiecam/config.toml: " + key + ":")
    assert words in msg


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("effect = \n")
    with pytest.raises(ConfigError, match=r"config.toml: \(syntax\): not valid TOML"):
        load(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.toml")


def test_user_config_is_found_in_xdg_config_home(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_default(None) == Config()
    (tmp_path / "selfiecam").mkdir()
    (tmp_path / "selfiecam" / "config.toml").write_text('effect = "desaturate"\n')
    assert load_default(None).effect == "desaturate"


def test_paths_resolve_against_config_folder_then_bundled_assets(tmp_path: Path) -> None:
    (tmp_path / "mine.png").write_bytes(b"")
    cfg = parse({"background": "mine.png",
                 "backgrounds": ["backgrounds/dusk-bokeh.jpg", "~/x.jpg"]}, "t", tmp_path)
    assert cfg.background == str(tmp_path / "mine.png")
    assert cfg.backgrounds[0].is_file() and cfg.backgrounds[0].name == "dusk-bokeh.jpg"
    assert cfg.backgrounds[1] == Path("~/x.jpg").expanduser()


def test_colours() -> None:
    assert parse_colour("#00ff00") == (0, 255, 0)
    assert parse_colour("336699") == (0x33, 0x66, 0x99)
    assert parse_colour("White") == (255, 255, 255)
    assert parse_colour("nope.png") is None


def test_missing_background_warns_and_falls_back(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        bg = load_background(tmp_path / "gone.jpg")
    assert isinstance(bg, SolidBackground) and bg.colour == (255, 255, 255)
    assert "gone.jpg: no such file" in caplog.text
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    with caplog.at_level(logging.WARNING):
        bg = load_background(not_image)
    assert isinstance(bg, SolidBackground)
    assert "notes.png" in caplog.text


def test_cli_bad_config_exits_2_naming_key_and_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[camera]\nwidth = "wide"\n')
    r = subprocess.run([sys.executable, "-m", "vcam", "run", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 2, r.stderr
    assert str(cfg) in r.stderr and "camera.width" in r.stderr
    assert "Traceback" not in r.stderr
