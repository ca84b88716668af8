"""SelfieCam: a virtual webcam with the background replaced, blurred, desaturated or keyed out."""

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
