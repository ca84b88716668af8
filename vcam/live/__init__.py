"""The live run: the threads, their latest-value hand-over, reconnection and the daemon."""
