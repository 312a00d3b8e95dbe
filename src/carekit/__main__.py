"""``python -m carekit``: the command line (see :mod:`carekit.cli`)."""

import sys

from carekit.cli import main

sys.exit(main())
