"""`make bench` (python -m bench): training time, start-up time, accuracy and latency."""

from bench.measure import main

raise SystemExit(main())
