"""The tray's "Add background…" file chooser: GTK's own, on the GTK main loop the
tray's gtk and appindicator backends already run.

Only the dialog is here; what a choice does (show it, add it to config.toml)
is :meth:`vcam.control.controller.Controller.add_background`, called with the
chosen path.  A :class:`Gtk.FileChooserDialog` rather than ``FileChooserNative``:
outside a sandbox the native one is this same dialog, and only a dialog can be
driven by a test (a file set, the response emitted) like a user's click.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vcam.stages.media import ANIMATED_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

log = logging.getLogger(__name__)

TITLE = "Add a background to SelfieCam"


def _gtk() -> Any:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.repository import Gtk

    return Gtk


def media_filter() -> Any:
    """A file filter passing the images and videos SelfieCam reads, by extension
    (either case: cameras write ``.JPG``)."""
    gtk = _gtk()
    f = gtk.FileFilter()
    f.set_name("Images and videos")
    for ext in sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | ANIMATED_EXTENSIONS):
        f.add_pattern(f"*{ext}")
        f.add_pattern(f"*{ext.upper()}")
    return f


class BackgroundChooser:
    """A file chooser for one image or video; ``on_chosen(path)`` runs (on the GTK
    loop) after the user picks one, nothing after Cancel or closing it.  Create
    and :meth:`show` it from the GTK main loop."""

    def __init__(self, on_chosen: Callable[[Path], None]) -> None:
        gtk = _gtk()
        from gi.repository import GLib

        self._on_chosen = on_chosen
        self._response_accept = gtk.ResponseType.ACCEPT
        self.dialog = gtk.FileChooserDialog(title=TITLE, action=gtk.FileChooserAction.OPEN)
        self.dialog.add_buttons("_Cancel", gtk.ResponseType.CANCEL,
                                "_Add", gtk.ResponseType.ACCEPT)
        self.dialog.set_default_response(gtk.ResponseType.ACCEPT)
        self.dialog.add_filter(media_filter())
        pictures = GLib.get_user_special_dir(GLib.UserDirectory.DIRECTORY_PICTURES)
        if pictures and Path(pictures).is_dir():
            self.dialog.set_current_folder(pictures)
        self.dialog.connect("response", self._on_response)
        self.open = False

    def show(self) -> None:
        """Show the dialog (or bring it to the front if it is open)."""
        self.open = True
        self.dialog.present()

    def _on_response(self, dialog: Any, response: int) -> None:
        name = dialog.get_filename() if response == self._response_accept else None
        dialog.destroy()
        self.open = False
        if not name:
            return
        try:
            self._on_chosen(Path(name))
        except ValueError as e:  # refused (not media, config.toml cannot be edited): say why
            log.warning("background not added: %s", e)
