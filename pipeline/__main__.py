"""`python -m pipeline` is the same as `stemning`."""

import sys

from pipeline.cli import main

sys.exit(main())
