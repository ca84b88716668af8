"""The control surfaces: the controller, the tray, ``vcam ctl``'s socket and the config watcher."""
