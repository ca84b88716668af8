"""Writing the user's choices back into config.toml: the ``backgrounds`` list that
the tray's "Add background…" and "Remove this background" change.

The file is the user's: it is edited with tomlkit, which keeps every comment,
blank line and the order of keys, and only the one list changes.  A file that
is not valid now (bad TOML, or a value ``vcam run`` would refuse) is never
written: the error names the file and the key, and the file stays as it is.
The new text replaces the file in one rename, so the config watcher never sees
half of it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Array

from vcam.config import Config, load, resolve_path
from vcam.errors import ConfigError

NEW_FILE_HEADER = ("SelfieCam configuration: edits apply live while vcam runs.\n"
                   "Every key is documented in config.toml at the top of SelfieCam's sources.")
KEY = "backgrounds"


def _document(path: Path) -> tomlkit.TOMLDocument:
    """The file as an editable document (a new one, with a header, if it does not
    exist); :class:`ConfigError` if it is not valid as it stands."""
    if not path.exists():
        doc = tomlkit.document()
        for line in NEW_FILE_HEADER.splitlines():
            doc.add(tomlkit.comment(line))
        return doc
    load(path)  # raises ConfigError naming the file and the key: do not touch such a file
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, TOMLKitError) as e:
        raise ConfigError(str(path), "(syntax)", f"cannot edit it: {e}") from None
    return doc


def _array(doc: tomlkit.TOMLDocument, path: Path) -> Array:
    if KEY not in doc:
        doc[KEY] = tomlkit.array().multiline(True)  # one path a line, as config.toml has it
    value = doc[KEY]
    if not isinstance(value, Array):  # load() has checked it already; a guard for mypy
        raise ConfigError(str(path), KEY, f"expected a list of paths, got {value!r}; "
                                          f"the file was not changed")
    return value


def _same_file(entry: object, target: Path, base: Path) -> bool:
    return isinstance(entry, str) and resolve_path(entry, base).resolve() == target


def _write(path: Path, doc: tomlkit.TOMLDocument) -> Config:
    """Replace ``path`` with ``doc`` in one rename; returns the file's new Config."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(tomlkit.dumps(doc))
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return load(path)


def add_background(path: Path, background: Path) -> Config:
    """Append ``background`` to the ``backgrounds`` list of the config file ``path``
    (created if missing); nothing changes if it is listed already.  Returns the
    file's Config after the edit."""
    target = background.expanduser().resolve()
    doc = _document(path)
    entries = _array(doc, path)
    if not any(_same_file(e, target, path.parent) for e in entries):
        entries.append(str(target))
    return _write(path, doc)


def remove_background(path: Path, background: Path) -> Config:
    """Take ``background`` out of the ``backgrounds`` list of ``path`` (however it is
    spelt there: relative, with ``~``); :class:`ConfigError` if it is not listed."""
    target = background.expanduser().resolve()
    if not path.exists():
        raise ConfigError(str(path), KEY, f"{target} is not listed (there is no such file)")
    doc = _document(path)
    entries = _array(doc, path)
    keep = [i for i, e in enumerate(entries) if not _same_file(e, target, path.parent)]
    if len(keep) == len(entries):
        raise ConfigError(str(path), KEY, f"{target} is not listed; nothing removed")
    for i in reversed(range(len(entries))):
        if i not in keep:
            del entries[i]
    return _write(path, doc)
