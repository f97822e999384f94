"""`python -m kling_lab.cli` runs the kling-lab command."""

from kling_lab.cli import main

raise SystemExit(main())
