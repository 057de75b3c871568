"""`python -m corpusmill`: the `corpusmill` command."""
import sys

from corpusmill.jobs.cli import main

sys.exit(main())
