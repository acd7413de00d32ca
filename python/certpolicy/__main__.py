"""``python -m certpolicy`` runs the command line."""

import sys

from certpolicy.cli import main

sys.exit(main())
