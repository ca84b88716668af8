"""What a newcomer met, each fixed and held here: the message says what is wrong and
the fix, and nothing is made, overwritten or aborted behind their back."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CLIP
from tests.test_cli_run import clean_env, vcam
from tests.test_pipeline import Recorder
from vcam.config import Config
from vcam.control.controller import Controller
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource
from vcam.stages.outputs import FileOutput

ROOT = Path(__file__).resolve().parents[1]


def test_a_preview_window_without_a_display_is_a_clear_error(tmp_path: Path) -> None:
    r = vcam("run", "--source", str(DEMO_CLIP), "--output", "window", "--no-tray",
             "--frames", "5", env=clean_env(tmp_path))
    assert r.returncode == 1, (r.returncode, r.stderr[-500:])
    assert "needs a display" in r.stderr and "--output demo.mp4" in r.stderr
    assert "Qt" not in r.stderr


def test_run_keeps_an_existing_file_and_makes_no_folders(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    missing = tmp_path / "no" / "such" / "x.mp4"
    r = vcam("run", "--source", str(DEMO_CLIP), "--output", str(missing), "--no-tray",
             "--frames", "5", env=env)
    assert r.returncode == 1 and "does not exist" in r.stderr
    assert not (tmp_path / "no").exists()
    taken = tmp_path / "taken.mp4"
    taken.write_bytes(b"keep me")
    r = vcam("run", "--source", str(DEMO_CLIP), "--output", str(taken), "--no-tray",
             "--frames", "5", env=env)
    assert r.returncode == 1 and "add --force" in r.stderr
    assert taken.read_bytes() == b"keep me"
    r = vcam("run", "--source", str(DEMO_CLIP), "--output", str(taken), "--no-tray",
             "--frames", "5", "--force", env=env)
    assert r.returncode == 0 and taken.stat().st_size > 1000


def test_apply_to_a_bare_name_is_refused_not_made_a_folder(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "vcam", "apply", str(DEMO_CLIP), "-o",
                        str(tmp_path / "name"), "--quality", "fast", "-q"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2 and "has no extension" in r.stderr and "name.png" in r.stderr
    assert not (tmp_path / "name").exists()


@pytest.mark.parametrize("flag", [["--background", "#12345"], ["--blur", "0"]])
def test_bad_flags_are_named_as_flags(tmp_path: Path, flag: list[str]) -> None:
    r = vcam("run", "--source", str(DEMO_CLIP), "--no-tray", "--output",
             str(tmp_path / "o.mp4"), *flag, env=clean_env(tmp_path))
    assert r.returncode == 2
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith(f"vcam: {flag[0]}: ") and "config error" not in line
    if flag[0] == "--background":
        assert "is not a colour" in line and "#rrggbb" in line
    else:
        assert line == "vcam: --blur: must be from 1 to 50, got 0"


def test_status_does_not_call_a_missing_config_file_in_use(tmp_path: Path) -> None:
    source = VideoFileSource(DEMO_CLIP)
    pipeline = Pipeline(Config(), source, Recorder())
    try:
        status = Controller(pipeline, tmp_path / "config.toml").status()
        assert status.config.endswith("(not created yet: defaults in use)")
        (tmp_path / "config.toml").write_text('effect = "blur"\n')
        assert Controller(pipeline, tmp_path / "config.toml").status().config == \
            str(tmp_path / "config.toml")
    finally:
        source.close()


def test_ctl_help_names_both_socket_paths() -> None:
    r = vcam("ctl", "--help")
    text = " ".join(r.stdout.split())
    assert "$XDG_RUNTIME_DIR/selfiecam/ctl.sock" in text and "selfiecam-$UID/ctl.sock" in text


def codec_of(path: Path) -> str:
    """The first video stream's codec as ffprobe names it (h264, mpeg4...)."""
    return subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "stream=codec_name", "-of", "csv=p=0", str(path)],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


@pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                    reason="ffmpeg/ffprobe not installed (sudo apt install ffmpeg)")
def test_a_recording_is_h264_where_ffmpeg_is_and_mp4v_with_a_warning_where_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "rec.mp4"
    r = vcam("run", "--source", str(DEMO_CLIP), "--output", str(out), "--no-tray",
             "--frames", "20", env=clean_env(tmp_path))
    assert r.returncode == 0, r.stderr[-800:]
    assert codec_of(out) == "h264"  # what browsers play, as vcam apply writes
    assert "H.264" in r.stderr and "ffmpeg not found" not in r.stderr
    cap = cv2.VideoCapture(str(out))
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == 20

    ffprobe = shutil.which("ffprobe")
    assert ffprobe is not None
    monkeypatch.setenv("PATH", str(tmp_path / "no-ffmpeg"))
    fallback = FileOutput(tmp_path / "old.mp4", 64, 48, 10)
    for i in range(5):
        fallback.send(np.full((48, 64, 3), i * 40, np.uint8))
    fallback.close()
    warned = [m.getMessage() for m in caplog.records if "ffmpeg not found" in m.getMessage()]
    assert len(warned) == 1 and "sudo apt install ffmpeg" in warned[0]
    monkeypatch.setenv("PATH", str(Path(ffprobe).parent))
    assert codec_of(tmp_path / "old.mp4") == "mpeg4"
