"""``python -m certpolicy.cli`` runs the command line."""

import sys

from certpolicy.cli import main

sys.exit(main())
