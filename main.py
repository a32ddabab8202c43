"""Run tsstudio from a source checkout: `python main.py` opens the app; `python main.py COMMAND ...` is the CLI."""

import sys

from tsstudio.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
