"""What comms staff and developers run, never a parent: `python -m bot check | evaluate | review |
new-topic | purge | api-token` (cli.py), and the checks, evaluation and review behind them."""
