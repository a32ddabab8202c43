"""`python -m tsstudio`: the command line."""

import sys

try:
    from tsstudio.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while the command line itself loads
    sys.stderr.write("tsstudio: interrupted\n")
    sys.exit(130)

sys.exit(main())
