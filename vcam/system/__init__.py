"""System integration: devices, who holds them, the instance lock,
doctor, autostart and process tuning."""
