"""The command line's exit codes: what a script calling ``desktop-app`` may rely on."""

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_RULES = 3
EXIT_COMMITTED = 4  # written and committed, but the result could not be printed: do not run it again
EXIT_INTERNAL = 5  # a fault of ours: logged, never a traceback on the terminal
