"""SelfieCam: a virtual webcam with the background replaced, blurred, desaturated or keyed out.

The map (docs/architecture.md has the thread diagram):

- ``vcam.stages``: the picture, stage by stage: ``capture`` (a source reads frames),
  ``segment`` (a frame -> the model's confidence), ``refine`` (-> a soft alpha),
  ``effects`` (the effects and their registry), ``backgrounds``, ``compositor``
  (refine + effect, live and for files), ``outputs`` (the outputs and their
  registry), ``media`` (reading images and videos).
- ``vcam.live``: ``pipeline`` (the three threads), ``reconnect`` (camera and
  virtual camera that come back), ``ondemand``, ``daemon`` (``vcam run``).
- ``vcam.control``: ``controller`` (the one place that changes the live state),
  ``tray``, ``icon``, ``keys`` (the preview window), ``ctl`` (``vcam ctl``),
  ``watch`` (config.toml).
- ``vcam.system``: ``devices``, ``consumers``, ``instance``, ``doctor``,
  ``autostart``, ``tuning``.
- ``vcam.offline``: ``apply`` (``vcam apply``), ``media_io`` (writing), ``stream``.
- ``vcam.bench``: ``vcam bench``.
- At the top: ``config``, ``cli``, ``errors`` (exit codes and exception types),
  ``health`` (the state the user sees), ``colours``, ``slot``, ``logs``, ``tables``.

To change how blur looks: ``stages/effects.py``.  To add an effect: one function
and one ``register_effect`` there.  To add an output: ``stages/outputs.py``.  To
add a tray item: ``control/tray.py``.
"""

from pathlib import Path

__version__ = "0.1.0"


def assets_dir() -> Path:
    """The bundled assets folder (models, backgrounds, demo clip).

    In a source checkout it is the top-level ``assets/``; an installed wheel
    carries the same files as the ``vcam.assets`` package.
    """
    checkout = Path(__file__).resolve().parent.parent / "assets"
    if (checkout / "models").is_dir():
        return checkout
    import vcam.assets

    return Path(vcam.assets.__path__[0])
