"""Run tsstudio from a source checkout: `python main.py [COMMAND ...]`."""

import sys

from tsstudio.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
