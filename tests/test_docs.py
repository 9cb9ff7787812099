"""docs/extending.md works as written: a comms officer adds a new question and a new app, retrains,
starts the assistant, and sees both answered. The test takes the YAML from the guide itself."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import PROJECT_DIR, post_json
from tests.support.processes import BIN, SERVER_ENV, api_headers, start_action_server, start_rasa_server

GUIDE = (PROJECT_DIR / "docs" / "extending.md").read_text()


def guide_block(heading: str) -> str:
    """The first ```yaml block after a heading of the guide."""
    section = GUIDE[GUIDE.index(heading):]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def test_a_new_question_and_a_new_app_are_answered_after_retraining(project, tmp_path):
    # 1. A new way of asking: the lines of the guide's example that the file does not have yet.
    friends = project / "data/nlu/friends.yml"
    new_lines = [line for line in guide_block("## 1.").splitlines()
                 if line.startswith("    - ") and line not in friends.read_text()]
    assert new_lines, "the guide's example question is already in the training data"
    text = friends.read_text().replace("  examples: |\n", "  examples: |\n" + "\n".join(new_lines) + "\n", 1)
    friends.write_text(text)
    # 3. A new app: the guide's entry, added at the end of the catalogue.
    apps = project / "data/content/apps.yml"
    apps.write_text(apps.read_text().rstrip("\n") + "\n\n" + guide_block("## 3."))
    assert subprocess.run([str(BIN / "python"), "-m", "bot", "check", "--skip-rasa"], cwd=project,
                          env={**SERVER_ENV, "ASSISTANT_DIR": str(project)},
                          capture_output=True, text=True, check=False).returncode == 0

    # Retrain (reusing the cache of the real project: only what changed is trained again).
    env = {**SERVER_ENV, "ASSISTANT_DIR": str(project),
           "RASA_CACHE_DIRECTORY": str(PROJECT_DIR / ".rasa" / "cache")}
    subprocess.run([str(BIN / "rasa"), "train", "--quiet", "--fixed-model-name", "assistant"],
                   cwd=project, env=env, check=True, capture_output=True)
    actions = start_action_server(tmp_path, project=project)
    rasa = start_rasa_server(project / "models" / "assistant.tar.gz", actions.port, tmp_path,
                             project=project)
    try:
        actions.wait_until_up("/health")
        rasa.wait_until_up()
        status, reply = post_json(rasa.url + "/webhooks/rest/webhook",
                                  {"sender": "comms", "message": "is wibblechat safe for my 12 year old?"})
        assert status == 200
        assert reply[0]["text"].startswith("WibbleChat: A chat app")
        assert "Your child is 12, and WibbleChat's own rules say users must be 13 or over" in reply[0]["text"]
        question = new_lines[0].strip()[2:]
        status, parsed = post_json(rasa.url + "/model/parse", {"text": question}, headers=api_headers())
        assert parsed["intent"]["name"] == "check_friends"
    finally:
        rasa.stop()
        actions.stop()
