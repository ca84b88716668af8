"""Bundled assets: the two selfie models, default backgrounds and the demo clip."""
