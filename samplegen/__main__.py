"""``python -m samplegen OUT_DIR [--seed N] [--pages-per-dump N]``: write the sample crawl and text sources."""
import sys

from corpusmill.samplegen.crawl import main

sys.exit(main())
