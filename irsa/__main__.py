"""Entry point of ``python -m irsa``, the same as the console script ``irsa``."""

import sys

from irsa.cli import main

sys.exit(main())
