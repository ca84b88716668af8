"""``vcam bench``: speed against the naive pipeline.  Only the CLI imports this package."""
