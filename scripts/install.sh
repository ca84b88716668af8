#!/bin/sh
# Install SelfieCam for this user, in its own Python environment, the way a desktop
# app installs: one command on a stock Ubuntu 24.04 or Debian 12, whose system
# Python refuses `pip install` outside a virtual environment (PEP 668).
#
#   scripts/install.sh [--python PY] [--with-virtualcam] [--no-system]
#   scripts/install.sh --uninstall [--purge-config]
#
# What it does, each step only when needed (running it twice changes nothing):
#   1. the system pieces pip cannot install (python3-venv, PyGObject's build
#      dependencies, the AppIndicator typelib, ffmpeg; in a GNOME session GNOME's
#      AppIndicator extension, without which it shows no tray icon), with apt-get or dnf,
#      through sudo only for them, saying what it installs first (--no-system:
#      skip this);
#   2. a virtual environment in ~/.local/share/selfiecam/venv, from --python (or
#      python3; it needs 3.11 or newer), with SelfieCam and its tray extra;
#   3. `vcam` linked into ~/.local/bin (and a word if that is not on PATH), and a
#      launcher with the icon in the application menu;
#   4. with --with-virtualcam (or a yes when asked), the SelfieCam virtual camera:
#      sudo scripts/setup-v4l2loopback.sh.
# --uninstall removes all of that (and the autostart entries); the config file
# in ~/.config/selfiecam stays unless --purge-config.  Exit status: 0 done,
# 1 failed (the message says what and the fix), 2 usage.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
HOME_DIR=$DATA/selfiecam
VENV=$HOME_DIR/venv
BIN=$HOME/.local/bin
APPS=$DATA/applications
ICON=$DATA/icons/hicolor/256x256/apps/selfiecam.png
CONFIG=${XDG_CONFIG_HOME:-$HOME/.config}/selfiecam
PYTHON=python3
SYSTEM=1
VIRTUALCAM=ask
UNINSTALL=0
PURGE=0

say() { printf 'install: %s\n' "$*"; }
fail() { printf 'install: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --python) PYTHON=$2; shift 2 ;;
        --with-virtualcam) VIRTUALCAM=yes; shift ;;
        --no-virtualcam) VIRTUALCAM=no; shift ;;
        --no-system) SYSTEM=0; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        --purge-config) PURGE=1; shift ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) printf 'install: unknown argument: %s (see --help)\n' "$1" >&2; exit 2 ;;
    esac
done

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else fail "need root for: $* (no sudo here; run that as root, then this again)"; fi
}

uninstall() {
    if [ -x "$VENV/bin/vcam" ]; then
        "$VENV/bin/vcam" autostart disable >/dev/null 2>&1 || true
        say "autostart entries removed"
    fi
    if [ -L "$BIN/vcam" ] && [ "$(readlink "$BIN/vcam")" = "$VENV/bin/vcam" ]; then
        rm -f "$BIN/vcam"
        say "removed $BIN/vcam"
    fi
    rm -f "$APPS/selfiecam.desktop" "$ICON"
    rm -rf "$HOME_DIR"
    # The folders it made, if nothing else is in them now.
    for d in "$(dirname "$ICON")" "$(dirname "$(dirname "$ICON")")" \
             "$(dirname "$(dirname "$(dirname "$ICON")")")" "$DATA/icons" "$APPS" "$BIN" \
             "$DATA" "$HOME/.local"; do
        rmdir "$d" 2>/dev/null || true
    done
    say "removed $HOME_DIR and the application launcher"
    if [ "$PURGE" = 1 ]; then
        rm -rf "$CONFIG"
        say "removed $CONFIG"
    elif [ -d "$CONFIG" ]; then
        say "kept your settings in $CONFIG (--purge-config removes them)"
    fi
}

if [ "$UNINSTALL" = 1 ]; then
    uninstall
    exit 0
fi

# -- 1. what pip cannot install -------------------------------------------------------
system_packages() {
    if command -v apt-get >/dev/null 2>&1; then
        # python3-venv: Debian's Python leaves venv's pip out; the rest: PyGObject for
        # the tray menu (built against GTK 3), the AppIndicator typelib, ffmpeg.
        want="python3-venv python3-dev libgirepository1.0-dev libcairo2-dev pkg-config
              gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 ffmpeg xdg-utils"
        case ":${XDG_CURRENT_DESKTOP:-}:" in
            # GNOME Shell shows no tray icon at all without this extension.
            *:GNOME:*) want="$want gnome-shell-extension-appindicator" ;;
        esac
        missing=""
        for p in $want; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
                || missing="$missing $p"
        done
        [ -n "$missing" ] || return 0
        say "installing with apt-get:$missing"
        as_root apt-get update -qq
        # shellcheck disable=SC2086  # one word a package
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
            $missing >/dev/null
        case $missing in
            *gnome-shell-extension-appindicator*)
                say "the tray icon appears after you log out and back in (GNOME's" \
                    "AppIndicator extension was just installed)" ;;
        esac
    elif command -v dnf >/dev/null 2>&1; then
        want="python3-devel gobject-introspection-devel cairo-gobject-devel pkgconf
              gtk3 libayatana-appindicator-gtk3 ffmpeg-free xdg-utils"
        say "installing with dnf: $(echo $want)"
        # shellcheck disable=SC2086
        as_root dnf install -y -q $want
    else
        say "no apt-get or dnf: install Python's venv module, GTK 3 introspection" \
            "(PyGObject's build dependencies) and ffmpeg with your package manager"
    fi
}
[ "$SYSTEM" = 1 ] && system_packages

# -- 2. SelfieCam's own environment ---------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || fail "no $PYTHON here; give one with --python"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || fail "$("$PYTHON" -V 2>&1) is too old: SelfieCam needs Python 3.11 or newer (--python)"
if ! [ -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$VENV"
    mkdir -p "$HOME_DIR"
    "$PYTHON" -m venv "$VENV" 2>/dev/null \
        || fail "$PYTHON cannot make a virtual environment; install python3-venv (apt) or" \
                "drop --no-system"
    say "created $VENV ($("$VENV/bin/python" -V 2>&1))"
fi
say "installing SelfieCam and its dependencies into $VENV (a few minutes the first time)"
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$ROOT[tray]"; then
    fail "pip could not install SelfieCam into $VENV (see above: a dependency with no" \
         "wheel for $("$VENV/bin/python" -V 2>&1) names itself there; try --python" \
         "python3.11 or python3.12)"
fi

# -- 3. on PATH, and in the application menu ------------------------------------------
mkdir -p "$BIN" "$APPS" "$(dirname "$ICON")"
ln -sf "$VENV/bin/vcam" "$BIN/vcam"
say "linked $BIN/vcam"
"$VENV/bin/python" -c "import sys; from vcam.control.icon import draw_icon; draw_icon('blur', size=256).save(sys.argv[1])" "$ICON"
cat > "$APPS/selfiecam.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=SelfieCam
GenericName=Virtual webcam
Comment=Your webcam with the background replaced, blurred or keyed out
Exec=$BIN/vcam run
Icon=$ICON
Terminal=false
Categories=AudioVideo;Video;
Keywords=webcam;camera;background;blur;
EOF
say "added SelfieCam to the application menu ($APPS/selfiecam.desktop)"
case ":$PATH:" in
    *":$BIN:"*) ;;
    *) say "$BIN is not on your PATH: add  export PATH=\"\$HOME/.local/bin:\$PATH\"  to" \
           "~/.profile (or run $BIN/vcam)" ;;
esac

# -- 4. the virtual camera ------------------------------------------------------------
if [ "$VIRTUALCAM" = ask ] && [ -t 0 ]; then
    printf 'install: create the SelfieCam virtual camera now (needs sudo)? [y/N] '
    read -r answer
    case $answer in [yY]*) VIRTUALCAM=yes ;; *) VIRTUALCAM=no ;; esac
fi
if [ "$VIRTUALCAM" = yes ]; then
    as_root "$ROOT/scripts/setup-v4l2loopback.sh"
else
    say "no virtual camera set up: vcam run --demo shows the demo in a window or a file;" \
        "sudo $ROOT/scripts/setup-v4l2loopback.sh creates SelfieCam"
fi
say "done: vcam run --demo"
