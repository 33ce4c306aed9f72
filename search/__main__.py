"""python -m search: see search/cli/__init__.py."""
import sys

from .cli import main

sys.exit(main())
