"""``python -m theseus``: the same command line as the ``theseus`` script."""

import sys

from theseus.cli.main import main

sys.exit(main())
