"""Test machinery: starting the real Rasa and action servers (processes.py), PostgreSQL and Redis
(services.py), and helpers the test modules share. `make bench` uses the same."""
