"""The stages of the picture: a source reads frames, a segmenter turns a frame into a
confidence, the refiner makes it an alpha, an effect composites, an output sends.

Nothing here imports from the live, control, system, offline or bench layers."""
