"""`python -m tsstudio`: the command line."""

import sys

from tsstudio.cli.main import main

sys.exit(main())
