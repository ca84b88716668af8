"""Device discovery: sysfs parsing on a sysfs tree laid out like the kernel's, the V4L2
structs against the kernel's own header, and /proc scanning and `vcam devices` for real."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vcam.system import devices as dv
from vcam.system.devices import Kind, Mode, describe_modes, list_devices, open_by, our_device

REPO = Path(__file__).resolve().parents[1]
MAX_DEVICES = 8  # v4l2loopback's parameter arrays always show this many entries

# /dev numbers for the tree below; chosen high so that no real node can be mistaken for them.
CAM, META, OURS, OTHER_LOOP, BARE = 40, 41, 50, 51, 60


def make_sysfs(root: Path, *, module: bool = True, video_nr: str = "50") -> Path:
    """/sys as the kernel shows a UVC webcam (picture + metadata node) and v4l2loopback
    with two devices: the video4linux class links into /sys/devices, the USB interface
    links to its driver, v4l2loopback's devices are virtual and carry its attributes."""
    v4l = root / "class" / "video4linux"
    v4l.mkdir(parents=True)
    usb_if = root / "devices" / "pci0000:00" / "usb1" / "1-8" / "1-8:1.0"
    (root / "bus" / "usb" / "drivers" / "uvcvideo").mkdir(parents=True)
    usb_if.mkdir(parents=True)
    (usb_if / "driver").symlink_to(root / "bus" / "usb" / "drivers" / "uvcvideo")

    def node(number: int, parent: Path, name: str, index: int, extra: tuple[str, ...] = ()
             ) -> None:
        d = parent / "video4linux" / f"video{number}"
        d.mkdir(parents=True)
        (d / "name").write_text(name + "\n")
        (d / "index").write_text(f"{index}\n")
        (d / "dev").write_text(f"81:{number}\n")
        for attr in extra:
            (d / attr).write_text("1\n")
        if parent != root / "devices" / "virtual":
            (d / "device").symlink_to(parent)
        (v4l / f"video{number}").symlink_to(d)

    node(CAM, usb_if, "Integrated Camera: Integrated C", 0)
    node(META, usb_if, "Integrated Camera: Integrated C", 1)
    loop_attrs = ("format", "buffers", "max_openers")
    node(OURS, root / "devices" / "virtual", "SelfieCam", 0, loop_attrs)
    node(OTHER_LOOP, root / "devices" / "virtual", "OBS Virtual Camera", 0, loop_attrs)
    node(BARE, root / "devices" / "virtual", "mystery", 0)
    if module:
        params = root / "module" / "v4l2loopback" / "parameters"
        params.mkdir(parents=True)
        nrs = [video_nr] + ["-1"] * (MAX_DEVICES - 1)
        (params / "video_nr").write_text(",".join(nrs) + "\n")
        (params / "exclusive_caps").write_text(",".join(["Y", "N"] + ["N"] * 6) + "\n")
        (params / "max_openers").write_text("10\n")
    return root


@pytest.fixture
def sysfs(tmp_path: Path) -> Path:
    taken = [n for n in (CAM, META, OURS, OTHER_LOOP, BARE) if Path(f"/dev/video{n}").exists()]
    if taken:
        pytest.skip(f"this machine has real /dev/video{taken[0]}, which the fake tree names")
    return make_sysfs(tmp_path / "sys")


def by_path(devices: list[dv.VideoDevice]) -> dict[str, dv.VideoDevice]:
    return {d.path: d for d in devices}


def test_sysfs_tree_classifies_cameras_and_loopback_outputs(sysfs: Path) -> None:
    found = by_path(list_devices(sysfs))
    assert list(found) == [f"/dev/video{n}" for n in (CAM, META, OURS, OTHER_LOOP, BARE)]
    cam, meta = found[f"/dev/video{CAM}"], found[f"/dev/video{META}"]
    assert (cam.kind, cam.driver, cam.label) == (Kind.CAMERA, "uvcvideo",
                                                 "Integrated Camera: Integrated C")
    assert meta.kind is Kind.OTHER  # the UVC metadata node: nothing to capture from
    ours, other = found[f"/dev/video{OURS}"], found[f"/dev/video{OTHER_LOOP}"]
    assert ours.kind is other.kind is Kind.VIRTUAL
    assert found[f"/dev/video{BARE}"].kind is Kind.UNKNOWN
    # No /dev nodes here: every device says why it could not be queried.
    assert all(d.caps is None and d.open_errno == errno.ENOENT and "cannot open" in d.error
               for d in found.values())


def test_exclusive_caps_follow_the_module_parameters(sysfs: Path) -> None:
    found = by_path(list_devices(sysfs))
    # video_nr=50 pins the first device (exclusive_caps Y); 51 took the next auto slot (N).
    assert found[f"/dev/video{OURS}"].exclusive_caps is True
    assert found[f"/dev/video{OTHER_LOOP}"].exclusive_caps is False
    assert found[f"/dev/video{CAM}"].exclusive_caps is None


def test_exclusive_caps_with_auto_numbers_and_without_the_module(tmp_path: Path) -> None:
    auto = make_sysfs(tmp_path / "auto", video_nr="-1")
    assert dv.loopback_exclusive_caps(OURS, [OURS, OTHER_LOOP], auto) is True
    assert dv.loopback_exclusive_caps(OTHER_LOOP, [OURS, OTHER_LOOP], auto) is False
    assert dv.loopback_exclusive_caps(99, [OURS, OTHER_LOOP], auto) is None
    bare = make_sysfs(tmp_path / "bare", module=False)
    assert dv.loopback_exclusive_caps(OURS, [OURS], bare) is None


def test_our_device_is_chosen_by_label_or_explicit_path(sysfs: Path) -> None:
    devices = list_devices(sysfs)
    ours = our_device(devices, "SelfieCam")
    assert ours is not None and ours.path == f"/dev/video{OURS}"
    assert our_device(devices, "Nope") is None
    # A camera that happens to carry the label is not a place to publish to.
    assert our_device(devices, "Integrated Camera: Integrated C") is None
    explicit = our_device(devices, "SelfieCam", f"/dev/video{OTHER_LOOP}")
    assert explicit is not None and explicit.label == "OBS Virtual Camera"


def test_a_file_that_is_not_a_v4l2_device_is_refused_by_the_kernel() -> None:
    with pytest.raises(OSError) as err:
        dv.query("/dev/null")
    assert err.value.errno == errno.ENOTTY


def test_structs_and_requests_match_the_kernel_header(tmp_path: Path) -> None:
    header = Path("/usr/include/linux/videodev2.h")
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None or not header.is_file():
        pytest.skip("needs a C compiler and linux/videodev2.h (linux-libc-dev)")
    src = tmp_path / "v.c"
    src.write_text("""
#include <stdio.h>
#include <linux/videodev2.h>
int main(void) {
    printf("%zu %zu %zu %zu\\n", sizeof(struct v4l2_capability), sizeof(struct v4l2_fmtdesc),
           sizeof(struct v4l2_frmsizeenum), sizeof(struct v4l2_frmivalenum));
    printf("%lu %lu %lu %lu\\n", (unsigned long)VIDIOC_QUERYCAP, (unsigned long)VIDIOC_ENUM_FMT,
           (unsigned long)VIDIOC_ENUM_FRAMESIZES, (unsigned long)VIDIOC_ENUM_FRAMEINTERVALS);
    printf("%lu %lu %lu %lu\\n", (unsigned long)V4L2_CAP_VIDEO_CAPTURE,
           (unsigned long)V4L2_CAP_VIDEO_OUTPUT, (unsigned long)V4L2_CAP_DEVICE_CAPS,
           (unsigned long)V4L2_CAP_VIDEO_M2M);
    return 0;
}
""")
    subprocess.run([cc, "-o", str(tmp_path / "v"), str(src)], check=True, timeout=60)
    sizes, requests, caps = (
        [int(v) for v in line.split()]
        for line in subprocess.run([str(tmp_path / "v")], capture_output=True, text=True,
                                   check=True).stdout.splitlines())
    assert sizes == [dv._CAPABILITY.size, dv._FMTDESC.size, dv._FRMSIZE.size, dv._FRMIVAL.size]
    assert requests == [dv.VIDIOC_QUERYCAP, dv.VIDIOC_ENUM_FMT, dv.VIDIOC_ENUM_FRAMESIZES,
                        dv.VIDIOC_ENUM_FRAMEINTERVALS]
    assert caps == [dv.CAP_VIDEO_CAPTURE, dv.CAP_VIDEO_OUTPUT, dv.CAP_DEVICE_CAPS,
                    dv.CAP_VIDEO_M2M]


def test_open_by_finds_the_processes_holding_a_file(tmp_path: Path) -> None:
    path = tmp_path / "held"
    path.write_bytes(b"x")
    with path.open("rb"):
        child = subprocess.Popen([sys.executable, "-c", "import sys, time; f = open(sys.argv[1]);"
                                  " print(1, flush=True); time.sleep(30)", str(path)],
                                 stdout=subprocess.PIPE)
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == b"1"
            held = open_by([str(path), str(tmp_path / "free")])
            pids = {h.pid for h in held[str(path)]}
            assert {os.getpid(), child.pid} <= pids
            assert held[str(tmp_path / "free")] == []
            mine = next(h for h in held[str(path)] if h.pid == child.pid)
            # The command line, program by its base name, as `ps` would show it (shortened).
            assert mine.command.startswith(Path(sys.executable).name + " -c import sys")
        finally:
            child.kill()
            child.wait()
    assert os.getpid() not in {h.pid for h in open_by([str(path)])[str(path)]}


def test_modes_are_summarised_per_format_largest_first() -> None:
    modes = (Mode("YUYV", 640, 480, (30.0,)), Mode("MJPG", 640, 480, (30.0, 15.0)),
             Mode("MJPG", 1920, 1080, (30.0,)), Mode("YUYV", 1280, 720, (10.0, 7.5)))
    assert describe_modes(modes) == "YUYV 1280x720@10/7.5, 640x480@30; MJPG 1920x1080@30, " \
                                    "640x480@30/15"
    many = tuple(Mode("MJPG", 100 + i, 100, ()) for i in range(9))
    assert describe_modes(many, most=3) == "MJPG 108x100, 107x100, 106x100 (+6 more)"


def test_vcam_devices_on_this_machine(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    run = [sys.executable, "-m", "vcam", "devices"]
    text = subprocess.run(run, capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    data = subprocess.run([*run, "--json"], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=60)
    assert text.returncode == data.returncode == 0, text.stderr + data.stderr
    rows = json.loads(data.stdout)["devices"]
    real = sorted(Path("/sys/class/video4linux").glob("video*"))
    assert [r["path"] for r in rows] == [f"/dev/{p.name}" for p in
                                         sorted(real, key=lambda p: (len(p.name), p.name))]
    if not any(r["kind"] == "camera" for r in rows):
        assert "Cameras: none found: plug in a webcam" in text.stdout
    if not any(r["kind"] == "virtual" for r in rows):
        assert "sudo scripts/setup-v4l2loopback.sh" in text.stdout
