"""`python -m processor ...`: see processor.cli."""

import sys

from processor.cli import main

if __name__ == "__main__":
    sys.exit(main())
