"""`python -m evaluation`: the same as `python -m evaluation.cli` (evaluation/ runs from a checkout)."""

import sys

from evaluation.cli import main

sys.exit(main())
