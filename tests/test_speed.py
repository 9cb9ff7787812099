"""What keeps the server's cost per message down (issue 20). Figures come from `make bench-load`;
these tests check the mechanisms, never a time."""

from __future__ import annotations

import subprocess

from tests.support.processes import BIN, SERVER_ENV


def test_the_server_gives_the_maths_libraries_one_thread_each():
    """bot.serve sets the thread count before NumPy loads: with two, OpenBLAS's second thread spun
    on the other core after every message."""
    env = {k: v for k, v in SERVER_ENV.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    code = ("import bot.serve, numpy, scipy.linalg, sklearn.linear_model; "
            "from threadpoolctl import threadpool_info; "
            "print(sorted({(i['internal_api'], i['num_threads']) for i in threadpool_info()}))")
    shown = subprocess.run([str(BIN / "python"), "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout
    assert "openblas" in shown and "openmp" in shown, shown
    assert ", 2)" not in shown and ", 1)" in shown, shown


def test_each_sanic_worker_gets_its_share_of_the_cores_for_the_encoder(monkeypatch):
    from bot.nlu import sentence_embeddings

    monkeypatch.setattr(sentence_embeddings.os, "cpu_count", lambda: 2)
    monkeypatch.delenv("SANIC_WORKERS", raising=False)
    assert sentence_embeddings.encoder_threads() == 2
    monkeypatch.setenv("SANIC_WORKERS", "2")
    assert sentence_embeddings.encoder_threads() == 1
    monkeypatch.setenv("SANIC_WORKERS", "lots")
    assert sentence_embeddings.encoder_threads() == 2


def test_make_run_starts_its_lock_store_and_two_workers():
    """The default set-up: endpoints.yml's lock store is the Redis `make run` starts, on a socket
    only this user can open, and Rasa is started with two Sanic workers."""
    import yaml

    from bot.content import PROJECT_DIR
    from bot.locks import SocketRedisLockStore, socket_path

    lock_store = yaml.safe_load((PROJECT_DIR / "endpoints.yml").read_text())["lock_store"]
    assert lock_store["type"] == f"{SocketRedisLockStore.__module__}.{SocketRedisLockStore.__name__}"
    dry_run = subprocess.run(["make", "-n", "run"], cwd=PROJECT_DIR, capture_output=True, text=True,
                             check=True).stdout
    assert f"scripts/lock-redis.sh {socket_path(lock_store['socket']).relative_to(PROJECT_DIR)}" in dry_run
    assert "SANIC_WORKERS=2 " in dry_run
    assert f"REDIS_SOCKET={socket_path(lock_store['socket']).relative_to(PROJECT_DIR)} " in dry_run


def test_action_server_replies_are_checked_as_rasa_checks_them_with_one_validator():
    import jsonschema
    import pytest
    from rasa.core.actions.action import RemoteAction
    from sanic import Sanic

    from bot import action_replies
    from bot.channels.server import configure

    schema = RemoteAction.action_response_format_spec()
    good = {"events": [{"event": "slot", "name": "app", "value": "roblox"}],
            "responses": [{"text": "Roblox: ..."}]}
    bad = {"events": "not a list", "responses": [{"text": 3}]}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError) as rasa_says:
        jsonschema.validate(bad, schema)
    action_replies.reply_validator.cache_clear()
    assert action_replies.validate_action_result(None, good) is True
    with pytest.raises(jsonschema.ValidationError) as we_say:
        action_replies.validate_action_result(None, bad)
    assert we_say.value.message.startswith(rasa_says.value.message)
    assert "custom-actions" in we_say.value.message
    assert action_replies.reply_validator.cache_info().misses == 1  # built once
    configure(Sanic("speed-test"))
    assert RemoteAction._validate_action_result is action_replies.validate_action_result
