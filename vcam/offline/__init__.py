"""Files: ``vcam apply`` and its media reading and writing."""
