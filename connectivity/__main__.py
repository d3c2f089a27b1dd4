"""``python -m connectivity`` runs the command-line tool."""

import sys

from connectivity.cli import main

sys.exit(main())
