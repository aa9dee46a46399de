"""Entry point of ``python -m irsa``."""

import sys

from irsa.cli import main

sys.exit(main())
