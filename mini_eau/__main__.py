"""Command line: ``python -m mini_eau <command>``."""
from .cli import main

raise SystemExit(main())
