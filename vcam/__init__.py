"""SelfieCam: a virtual webcam with the background replaced, blurred, desaturated or keyed out."""

__version__ = "0.1.0"
