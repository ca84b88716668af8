#!/bin/sh
# Install what the tray menu needs on Debian/Ubuntu: PyGObject (built against the
# system's GTK 3 introspection data) for pystray's gtk and appindicator backends.
# Without it pystray falls back to its xorg backend, which has no menus, and
# `vcam run` goes on without a tray (control it with `vcam ctl`).
#
#   sudo scripts/install-tray-deps.sh            # apt packages, then pip into the
#                                                # python3 found first on PATH
#   PYTHON=/path/to/venv/bin/python sudo -E scripts/install-tray-deps.sh
set -eu

PYTHON="${PYTHON:-python3}"

if command -v apt-get >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends \
        libgirepository1.0-dev libcairo2-dev pkg-config python3-dev \
        gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 xdg-utils
else
    echo "install-tray-deps: no apt-get; install GTK 3 introspection data, the girepository" \
         "and cairo development files and pkg-config with your package manager" >&2
fi

# PyGObject 3.51+ needs girepository-2.0, which Debian bookworm does not have.
"$PYTHON" -m pip install "PyGObject<3.51" pycairo    # = the "tray" extra of pyproject.toml
"$PYTHON" -c "import gi; gi.require_version('Gtk', '3.0'); print('PyGObject', gi.__version__, 'ok')"
