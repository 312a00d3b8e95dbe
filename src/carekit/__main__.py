"""``python -m carekit``: the command line (see :mod:`carekit._cli`)."""

import sys

from carekit._cli import main

sys.exit(main())
