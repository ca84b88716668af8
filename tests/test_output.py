"""Outputs: pyvirtualcam's real Camera code over a recording backend, the real library's
missing-device path, the label lookup, and files."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import pyvirtualcam

from tests.conftest import DEMO_CLIP
from vcam.config import Config
from vcam.errors import OutputError
from vcam.live.pipeline import Pipeline
from vcam.live.reconnect import ReconnectingOutput
from vcam.stages.capture import VideoFileSource
from vcam.stages.outputs import (
    FileOutput,
    VirtualCamera,
    find_labelled_device,
)


class RecordingBackend:
    """A pyvirtualcam backend whose 'device' is a list: everything above it is the real
    pyvirtualcam.Camera (shape checks, format, pacing)."""

    sent: list[np.ndarray] = []
    opened: list[dict] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int,
                 device: str | None, **kw: object) -> None:
        self.width, self.height, self.fourcc = width, height, fourcc
        self._device = device or "/dev/video-test"
        RecordingBackend.opened.append({"width": width, "height": height, "fps": fps,
                                        "fourcc": fourcc, "device": self._device})

    def send(self, frame: np.ndarray) -> None:
        RecordingBackend.sent.append(self.decode(frame))

    def decode(self, flat: np.ndarray) -> np.ndarray:
        """Back to BGR, the way a reader of the device would see it."""
        w, h = self.width, self.height
        fmt = pyvirtualcam.camera.decode_fourcc(self.fourcc)
        if fmt == "YUY2":
            return cv2.cvtColor(flat.reshape(h, w, 2), cv2.COLOR_YUV2BGR_YUY2)
        if fmt == "I420":
            return cv2.cvtColor(flat.reshape(h * 3 // 2, w), cv2.COLOR_YUV2BGR_I420)
        assert fmt == "24BG", fmt
        return flat.reshape(h, w, 3).copy()

    def close(self) -> None:
        RecordingBackend.opened.append({"closed": True})

    def device(self) -> str:
        return self._device

    def native_fourcc(self) -> int | None:
        return None


pyvirtualcam.register_backend("vcam-test-recorder", RecordingBackend)


@pytest.mark.parametrize(("pixel_format", "fourcc"),
                         [("yuyv", "YUY2"), ("i420", "I420"), ("bgr", "24BG")])
def test_pipeline_publishes_through_pyvirtualcam(pixel_format: str, fourcc: str) -> None:
    RecordingBackend.sent.clear()
    RecordingBackend.opened.clear()
    src = VideoFileSource(DEMO_CLIP)
    cam = VirtualCamera(src.width, src.height, 30, device="/dev/video7",
                        backend="vcam-test-recorder", pixel_format=pixel_format)
    assert cam.device == "/dev/video7"
    p = Pipeline(Config(effect="replace", background="#00ff00"), src, cam, max_frames=45)
    p.start()
    assert p.wait(30)
    p.stop()
    assert p.error is None
    assert pyvirtualcam.camera.decode_fourcc(RecordingBackend.opened[0]["fourcc"]) == fourcc
    assert RecordingBackend.opened[-1] == {"closed": True}
    assert len(RecordingBackend.sent) == 45
    last = RecordingBackend.sent[-1]
    assert last.shape == (360, 640, 3)
    # The left edge of the clip is wall: now green.
    # (YUV 4:2:x with limited range rounds a little: 3 levels.)
    assert (np.abs(last[:, :60].astype(int) - (0, 255, 0)).max(axis=2) <= 3).mean() > 0.8


def fake_sysfs(root: Path, devices: dict[str, str]) -> Path:
    for name, label in devices.items():
        (root / name).mkdir(parents=True)
        (root / name / "name").write_text(label + "\n")
    return root


def test_device_is_found_by_its_label(tmp_path: Path) -> None:
    sysfs = fake_sysfs(tmp_path, {"video0": "Integrated Camera", "video10": "SelfieCam",
                                  "video2": "OBS Virtual Camera"})
    assert find_labelled_device("SelfieCam", sysfs) == "/dev/video10"
    with pytest.raises(OutputError) as e:
        find_labelled_device("Other", sysfs)
    msg = str(e.value)
    assert "/dev/video0 (Integrated Camera)" in msg
    assert "scripts/setup-v4l2loopback.sh" in msg


def test_missing_label_says_what_and_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as e:
        find_labelled_device("SelfieCam", tmp_path / "none")
    assert "no v4l2loopback device labelled 'SelfieCam'" in str(e.value)
    assert "sudo scripts/setup-v4l2loopback.sh" in str(e.value)


@pytest.mark.skipif(Path("/dev/video42").exists(), reason="a real /dev/video42 exists here")
def test_real_pyvirtualcam_error_is_wrapped_with_the_fix() -> None:
    with pytest.raises(OutputError) as e:
        VirtualCamera(640, 360, 30, device="/dev/video42", backend="v4l2loopback")
    msg = str(e.value)
    assert "'v4l2loopback' backend" in msg  # the library's own words, kept
    assert "scripts/setup-v4l2loopback.sh" in msg


def test_file_output_writes_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "rec.mp4"
    out = FileOutput(path, 320, 180, 25)
    for i in range(12):
        out.send(np.full((180, 320, 3), i * 20, np.uint8))
    out.close()
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25)
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (320, 180)


class VanishingBackend(RecordingBackend):
    """The recording backend, but the 'device' is unplugged after a few frames and
    refuses to open for a while."""

    unplugged_until = 0.0
    sends_before_unplug = 10

    def __init__(self, **kw: object) -> None:
        if time.monotonic() < VanishingBackend.unplugged_until:
            raise RuntimeError("'vcam-test-vanishing' backend: device /dev/video7 not found")
        super().__init__(**kw)  # type: ignore[arg-type]

    def send(self, frame: np.ndarray) -> None:
        VanishingBackend.sends_before_unplug -= 1
        if VanishingBackend.sends_before_unplug == 0:
            VanishingBackend.unplugged_until = time.monotonic() + 0.8
            raise OSError(19, "No such device")
        super().send(frame)


pyvirtualcam.register_backend("vcam-test-vanishing", VanishingBackend)


def test_virtual_camera_lost_is_retried_and_the_stream_comes_back() -> None:
    RecordingBackend.sent.clear()
    out = ReconnectingOutput(lambda: VirtualCamera(640, 360, 30, device="/dev/video7",
                                                   backend="vcam-test-vanishing",
                                                   pixel_format="bgr"))
    frame = np.zeros((360, 640, 3), np.uint8)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3.0:
        out.send(frame)
        time.sleep(1 / 30)
    back = out.connected
    out.close()
    print(f"virtual camera lost: {out.failures} failure, "
          f"{len(RecordingBackend.sent)} frames delivered in 3 s")
    assert out.failures == 1
    assert back
    # ~9 before, none while unplugged (0.8 s, then a 0.5-1 s back-off), the rest after.
    assert 30 < len(RecordingBackend.sent) < 80
