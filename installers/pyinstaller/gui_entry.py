"""Frozen entry point of the window (no console on Windows)."""

import sys

from desktop_app.ui.app import main

sys.exit(main())
