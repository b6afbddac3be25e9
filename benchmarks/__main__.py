"""``python -m benchmarks`` (``make bench``)."""

from .run import main

raise SystemExit(main())
