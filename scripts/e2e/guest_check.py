"""Runs inside the e2e guest: drive SelfieCam's loopback device, read it back, judge it.

Started by scripts/e2e-virtualcam.sh in a qemu guest where v4l2loopback is loaded
with a decoy device first and the "SelfieCam" one second. It

1. finds the device labelled SelfieCam in /sys/class/video4linux;
2. starts the producer: `python -m vcam run --source <clip> --no-tray --effect replace
   --background #0000ff ...` (or, with --mode stand-in, a bare pyvirtualcam writer that
   paints everything outside an ellipse around the face blue, to prove the harness);
3. waits until the device offers VIDEO_CAPTURE (with exclusive_caps=1 that happens only
   once a producer writes), then reads it with an independent consumer,
   `ffmpeg -f v4l2 -i /dev/videoN`, into raw BGR frames;
4. checks: size is the clip's, the device advertises the clip's rate and frames keep
   coming, and the last frames are our composited output (a large share of pure blue
   background, a face found by OpenCV's Haar detector in the output itself, and that face
   not blue); for vcam also its on-demand camera, seen in /proc/PID/fd: the clip (its
   camera) is closed while nobody reads the device, opened while ffmpeg reads, and closed
   again after ffmpeg exits;
5. writes `result` (first line PASS or FAIL) and `result.json` into the output folder.

Exit status 0 on PASS, 1 on FAIL.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from verdict import V4L2_CAP_VIDEO_CAPTURE, Report, device_caps, find_devices

LABEL = "SelfieCam"
BLUE_HEX = "#0000ff"


def holds_file(pid: int, path: Path) -> bool:
    """True when process ``pid`` has ``path`` open (seen in /proc/PID/fd)."""
    target = os.path.realpath(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


def seconds_until(condition: Callable[[], bool], timeout: float) -> float | None:
    """Poll ``condition`` every 0.2 s; seconds until it held, None if it never did."""
    t0 = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(0.2)


STAND_IN = r"""
import sys, cv2, numpy as np, pyvirtualcam
clip, device, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
cap = cv2.VideoCapture(clip)
fps = cap.get(cv2.CAP_PROP_FPS) or 30
# Decode and composite up front: the emulated CPU is too slow to do it live.
loop = []
while len(loop) < 30:
    ok, frame = cap.read()
    if not ok:
        break
    loop.append(frame)
h, w = loop[0].shape[:2]
mask = np.zeros((h, w), np.uint8)
cv2.ellipse(mask, (w // 2, h // 2), (w // 5, h // 2), 0, 0, 360, 255, -1)
for frame in loop:
    frame[mask == 0] = (255, 0, 0)
with pyvirtualcam.Camera(w, h, fps, fmt=pyvirtualcam.PixelFormat.BGR, device=device) as cam:
    print("stand-in writing", cam.device, w, h, fps, flush=True)
    try:
        for i in range(frames):
            cam.send(loop[i % len(loop)])
            cam.sleep_until_next_frame()
    except KeyboardInterrupt:
        pass
"""


def producer_command(mode: str, python: str, clip: Path, device: str, frames: int) -> list[str]:
    if mode == "stand-in":
        return [python, "-c", STAND_IN, str(clip), device, str(frames)]
    return [python, "-m", "vcam", "run", "--source", str(clip), "--no-tray",
            "--effect", "replace", "--background", BLUE_HEX, "--frames", str(frames),
            "--verbose"]


def blue_mask(frames: np.ndarray) -> np.ndarray:
    """Pixels that are the replacement colour after the I420 round trip (BGR input)."""
    b = frames[..., 0].astype(np.int16)
    g = frames[..., 1].astype(np.int16)
    r = frames[..., 2].astype(np.int16)
    return (b > 200) & (g < 60) & (r < 60)


def parse_ffmpeg(stderr: str) -> tuple[tuple[int, int] | None, float | None, list[float]]:
    """(input size, nominal fps, frame pts_time list) from ffmpeg's log with showinfo."""
    size = nominal = None
    m = re.search(r"Input #0.*?Stream #0:0.*?Video: [^\n]*?(\d{2,5})x(\d{2,5})[^\n]*", stderr,
                  re.S)
    if m:
        size = (int(m.group(1)), int(m.group(2)))
        f = re.search(r"([\d.]+) fps", m.group(0))
        nominal = float(f.group(1)) if f else None
    pts = [float(x) for x in re.findall(r"\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:([-\d.]+)",
                                        stderr)]
    return size, nominal, pts


def judge_frames(report: Report, frames: np.ndarray, out: Path, tail: int) -> None:
    """Our composited output: blue background, a face that is not blue, in the last frames."""
    cascade = cv2.CascadeClassifier(
        os.path.join(cv2.data.haarcascades,  # type: ignore[attr-defined]
                     "haarcascade_frontalface_default.xml"))
    blue = blue_mask(frames)
    shares = blue.reshape(len(frames), -1).mean(axis=1)
    report.facts["blue_share_per_frame"] = [round(float(s), 3) for s in shares]
    composited = (shares > 0.15) & (shares < 0.97)
    first = int(np.argmax(composited)) if composited.any() else None
    report.facts["first_composited_frame"] = first
    last = frames[-tail:]
    report.add("background replaced", bool(composited[-tail:].all()),
               f"blue share of the last {tail} frames "
               f"{shares[-tail:].min():.2f}..{shares[-tail:].max():.2f} (want 0.15..0.97); "
               f"first composited frame {first} of {len(frames)}")

    faces_found = 0
    face_blue = []
    # The detector is slow on the emulated CPU: every third of the last frames.
    looked = range(0, len(last), 3)
    for i in looked:
        frame = last[i]
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(40, 40))
        if len(faces) == 0:
            continue
        faces_found += 1
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        # The detector's box reaches past cheeks and chin into the background:
        # judge its middle half, which is all face.
        cx, cy = x + w // 4, y + h // 4
        face_blue.append(float(blue[len(frames) - tail + i, cy:cy + h // 2, cx:cx + w // 2].mean()))
        if faces_found == 1:
            marked = frame.copy()
            cv2.rectangle(marked, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), 2)
            cv2.imwrite(str(out / "face.png"), marked)
    report.facts["face_blue_share"] = [round(s, 3) for s in face_blue]
    report.add("face visible", faces_found * 2 >= len(looked),
               f"a face was detected in {faces_found} of {len(looked)} of the last frames")
    if face_blue:
        report.add("face kept", max(face_blue) < 0.1,
                   f"blue share in the middle of the face box at most {max(face_blue):.3f} "
                   "(want < 0.1)")
    cv2.imwrite(str(out / "last_frame.png"), frames[-1])


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, bool]:
    """Stop the producer with SIGINT like a user's Ctrl-C; (exit code, whether we had to)."""
    if proc.poll() is not None:
        return proc.returncode, False
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30), True
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(), True


def run(args: argparse.Namespace, report: Report) -> None:
    out: Path = args.out
    devices = find_devices()
    report.facts["devices"] = devices
    ours = [d for d, name in devices.items() if name == LABEL]
    if not report.add("device by label", len(ours) == 1,
                      f"{LABEL!r} is {ours} among {devices}"):
        return
    device = ours[0]

    clip = Path(args.clip)
    cap = cv2.VideoCapture(str(clip))
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    clip_fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    report.facts.update(clip=str(clip), clip_size=size, clip_fps=clip_fps)

    cmd = producer_command(args.mode, sys.executable, clip, device, args.producer_frames)
    print("producer:", " ".join(cmd[:2] + (["<stand-in>"] if args.mode == "stand-in"
                                           else cmd[2:])), flush=True)
    t_start = time.monotonic()
    frames = None
    with open(out / "producer.log", "wb") as plog:
        proc = subprocess.Popen(cmd, stdout=plog, stderr=subprocess.STDOUT)
        try:
            ready = False
            while time.monotonic() - t_start < args.ready_timeout and proc.poll() is None:
                if device_caps(device) & V4L2_CAP_VIDEO_CAPTURE:
                    ready = True
                    break
                time.sleep(0.2)
            waited = time.monotonic() - t_start
            report.facts["seconds_until_device_ready"] = round(waited, 1)
            if report.add("producer writes to the device", ready,
                          f"{device} offered capture after {waited:.1f}s" if ready else
                          f"not within {args.ready_timeout}s (producer exit code "
                          f"{proc.poll()}, see producer.log)"):
                frames = watch_and_consume(args, report, proc.pid, clip, device, size, clip_fps)
        finally:
            # Stop it before judging: the emulated CPU is too slow to share.
            rc, interrupted = stop(proc)
    report.facts.update(producer_exit=rc, producer_interrupted=interrupted,
                        producer_seconds=round(time.monotonic() - t_start, 1))
    clean = rc in (0, 130, -signal.SIGINT) if interrupted else rc == 0
    report.add("producer exits cleanly", clean,
               f"exit code {rc}" + (" after SIGINT" if interrupted else " on its own"))
    if frames is not None:
        bgr = np.stack([cv2.cvtColor(f, cv2.COLOR_YUV2BGR_I420) for f in frames])
        judge_frames(report, bgr, out, min(args.tail, len(bgr)))


def watch_and_consume(args: argparse.Namespace, report: Report, pid: int, clip: Path,
                      device: str, size: tuple[int, int], clip_fps: float) -> np.ndarray | None:
    """consume(), and for vcam its on-demand camera: off until ffmpeg opens the device,
    on while ffmpeg reads, off again after ffmpeg closes it.

    The source is the clip, so "camera on" is "the producer has the clip open"."""
    if args.mode != "vcam":
        return consume(args, report, device, size, clip_fps)

    def released() -> bool:
        return not holds_file(pid, clip)

    t = seconds_until(released, args.idle_timeout)
    report.add("camera off while nobody watches", t is not None,
               f"the clip was released {t:.1f}s after the device became ready" if t is not None
               else f"the producer still holds {clip} {args.idle_timeout}s after it started "
                    "writing, with no reader")
    held: list[float] = []
    t0 = time.monotonic()

    def on_poll() -> None:
        if not held and holds_file(pid, clip):
            held.append(time.monotonic() - t0)

    frames = consume(args, report, device, size, clip_fps, on_poll=on_poll)
    report.add("camera on while watched", bool(held),
               f"the clip was opened {held[0]:.1f}s after ffmpeg started" if held
               else "the producer never opened the clip while ffmpeg read")
    t = seconds_until(released, args.idle_timeout)
    report.add("camera off after the reader closes", t is not None,
               f"the clip was released {t:.1f}s after ffmpeg exited" if t is not None
               else f"the producer still holds the clip {args.idle_timeout}s after ffmpeg exited")
    return frames


def consume(args: argparse.Namespace, report: Report, device: str, size: tuple[int, int],
            clip_fps: float, on_poll: Callable[[], None] | None = None) -> np.ndarray | None:
    """Read the device with ffmpeg; check size and rate; the I420 frames if all arrived."""
    out: Path = args.out
    raw = out / "frames.yuv"
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-f", "v4l2",
           "-i", device, "-frames:v", str(args.frames), "-vf", "showinfo=checksum=0",
           # passthrough: one output frame per device frame (the default would
           # duplicate frames to a constant rate and hide a slow producer).
           "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-y", str(raw)]
    t0 = time.monotonic()
    log_path = out / "ffmpeg.log"
    with open(log_path, "wb") as log:
        ff = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        rc: int | None = None
        while time.monotonic() - t0 < args.consumer_timeout:
            if on_poll is not None:
                on_poll()
            rc = ff.poll()
            if rc is not None:
                break
            time.sleep(0.2)
        else:
            ff.kill()
            ff.wait()
    stderr = log_path.read_text(errors="replace")
    report.facts["consumer_seconds"] = round(time.monotonic() - t0, 1)
    if not report.add("ffmpeg reads the device", rc == 0,
                      f"ffmpeg exit {rc} (timeout {args.consumer_timeout}s), see ffmpeg.log"):
        return None

    got_size, nominal, pts = parse_ffmpeg(stderr)
    w, h = size
    data = np.fromfile(raw, np.uint8)
    frame_bytes = w * h * 3 // 2  # I420; converted here to spare the emulated CPU
    n = data.size // frame_bytes
    report.facts.update(consumer_size=got_size, consumer_nominal_fps=nominal, frames_read=n)
    report.add("frame size", got_size == size and data.size == n * frame_bytes,
               f"ffmpeg saw {got_size}, clip is {size}, {data.size} bytes = {n} frames")
    report.add("frame count", n == args.frames, f"{n} frames read, asked for {args.frames}")
    if len(pts) >= 2 and pts[-1] > pts[0]:
        fps = (len(pts) - 1) / (pts[-1] - pts[0])
        gap = max(b - a for a, b in zip(pts[:-1], pts[1:], strict=True))
    else:
        fps, gap = 0.0, float("inf")
    report.facts.update(measured_fps=round(fps, 2), longest_gap_s=round(gap, 3))
    report.add("advertised rate", nominal is not None and abs(nominal - clip_fps) < 0.5,
               f"the device offers {nominal} fps, the clip is {clip_fps:.1f} fps")
    # The guest's CPU is emulated (10-20x slower than the host, slower still
    # when the host is busy: 3-9 fps seen for vcam, 29 for the stand-in), so
    # the rate sustained there says little about a real machine: ask for a
    # live, steady stream, not for full speed.
    lo = clip_fps * args.min_rate
    report.add("frames keep coming", fps >= lo and gap <= args.max_gap,
               f"{fps:.1f} fps by the device's timestamps (want >= {lo:.1f} under emulation), "
               f"longest gap {gap:.2f}s (want <= {args.max_gap}s)")
    if n == args.frames and got_size == size:
        return data.reshape(n, h * 3 // 2, w)
    return None


def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["vcam", "stand-in"], default="vcam")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--clip", default=str(repo / "assets/demo/single_face.mp4"))
    # Under emulation (TCG) the model takes seconds a frame, so the first masks come
    # only after a few seconds of passed-through frames: read long enough for the
    # last frames to be composited whatever the host's speed.
    p.add_argument("--frames", type=int, default=160, help="frames ffmpeg reads")
    p.add_argument("--tail", type=int, default=15, help="last frames that must be composited")
    p.add_argument("--producer-frames", type=int, default=3000,
                   help="--frames for the producer; it is interrupted once ffmpeg is done")
    p.add_argument("--ready-timeout", type=float, default=120)
    p.add_argument("--consumer-timeout", type=float, default=240)
    p.add_argument("--idle-timeout", type=float, default=20,
                   help="seconds the on-demand camera may take to turn off")
    # Composited frames come at ~1 fps on the emulated CPU (the model and the
    # compositor run as emulated SIMD); natively it is the camera's rate.
    p.add_argument("--min-rate", type=float, default=0.02,
                   help="lowest acceptable share of the clip's frame rate (emulated CPU)")
    # A composited frame takes up to ~1.6 s on the emulated CPU (~12 ms natively).
    p.add_argument("--max-gap", type=float, default=5.0,
                   help="longest acceptable time between two frames, seconds")
    args = p.parse_args()

    report = Report(args.mode)
    t0 = time.monotonic()
    try:
        run(args, report)
    except Exception as exc:  # the verdict file must be written whatever happens
        report.add("harness", False, f"{type(exc).__name__}: {exc}")
    report.facts["guest_seconds"] = round(time.monotonic() - t0, 1)
    return report.write(args.out, "SelfieCam e2e")

if __name__ == "__main__":
    sys.exit(main())
