"""The tray preview's window, in a process of its own (``python -m
vcam.control.preview_child``).

OpenCV's windows are Qt, and Qt crashes (SIGSEGV) in a process that loaded GTK
first, which the tray's gtk and appindicator backends do: so the tray's preview
cannot open in the daemon.  The daemon writes the composited frames to this
process's stdin, each a :data:`HEADER` and the BGR pixels; it shows them with the
:class:`~vcam.stages.outputs.WindowOutput` that ``--output window`` uses and
writes each key pressed to stdout, one byte.  It ends when stdin closes, when the
window is closed, or on ``q`` / Esc (which close the preview, not SelfieCam).
"""

from __future__ import annotations

import struct
import sys

import numpy as np

HEADER = struct.Struct("<II")
"""Height and width of the frame that follows (uint8, 3 channels, row by row)."""
CLOSE_KEYS = ("q", "\x1b")


def _read(stream: object, size: int) -> bytes:
    data = stream.read(size)  # type: ignore[attr-defined]
    return bytes(data) if data else b""


def main() -> int:
    from vcam.stages.outputs import PREVIEW_TITLE, WindowClosed, WindowOutput

    src, keys_out = sys.stdin.buffer, sys.stdout.buffer
    keys: list[str] = []
    window = WindowOutput(PREVIEW_TITLE, keys.append, closable=True)
    try:
        while len(head := _read(src, HEADER.size)) == HEADER.size:
            height, width = HEADER.unpack(head)
            data = _read(src, height * width * 3)
            if len(data) < height * width * 3:
                break
            window.send(np.frombuffer(data, np.uint8).reshape(height, width, 3))
            if any(k in CLOSE_KEYS for k in keys):
                break
            for key in keys:
                keys_out.write(key.encode("latin-1"))
            keys_out.flush()
            keys.clear()
    except (WindowClosed, BrokenPipeError):
        pass
    finally:
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
