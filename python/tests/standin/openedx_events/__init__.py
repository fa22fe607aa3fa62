"""STAND-IN for openedx-events 11.2.0 in edxbus's tests (see ../README.md); not the real package."""
