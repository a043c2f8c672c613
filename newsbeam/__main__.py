"""`python -m newsbeam ...` is the `newsbeam` command."""

import sys

from newsbeam.cli import main

sys.exit(main())
