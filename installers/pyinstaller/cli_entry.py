"""Frozen entry point of the command line (`desktop-app`), for scripts and the clinic's IT person."""

import sys

from desktop_app.cli import main

sys.exit(main())
