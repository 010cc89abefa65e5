"""``python -m bayes_cpp`` runs the command-line interface."""

import sys

from bayes_cpp.cli import main

sys.exit(main())
