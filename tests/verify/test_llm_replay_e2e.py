"""An agent that calls a model, verified offline: recorded model calls replayed in the sandbox.

The agent asks a model (the real ``openai`` SDK, against a local server here) and post-
processes its answer; the post-processing has a bug. Its calls are recorded by ``@task``.
Verification runs in the no-network sandbox with the model server stopped: the fix passes
on the recorded answers; a candidate that changes the prompt has no recorded answer and
fails as ``unrecorded_call``; with ``[replay] unrecorded = "forward"`` that call goes to
the configured local server through the forwarder, and is counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from theseus.change.candidate import Candidate
from theseus.config import load_settings
from theseus.evidence.curator import curate
from theseus.evidence.expectations import make_report
from theseus.evidence.store import EvidenceStore
from theseus.verify.pipeline import verify_candidate

pytestmark = pytest.mark.e2e

TOML = """\
[agent]
package = "bot"
entrypoint = "bot.app:handle"

[paths]
mutable = ["bot/words.py", "bot/app.py"]
protected = ["tests/*.py"]

[tests]
command = "python -m pytest -q -p no:cacheprovider tests"
timeout = 120

[replay]
case_timeout = 20
holdout_share = 0.0
"""

APP = """\
import openai

import theseus
from bot import words


@theseus.task
def handle(message, state):
    client = openai.OpenAI(max_retries=0)
    answer = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": message}]
    )
    text = answer.choices[0].message.content
    return {"text": text, "words": words.count(text)}
"""

WORDS = """\
def count(text: str) -> int:
    return len(text.split()) + 1
"""


class Model:
    """A local chat-completions server: the answer is a function of the prompt."""

    def __init__(self) -> None:
        self.seen: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(handler) -> None:
                body = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                self.seen.append(prompt)
                data = json.dumps({
                    "id": "c1", "object": "chat.completion", "created": 1, "model": "tiny",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": f"you said {prompt}"}}],
                }).encode()  # fmt: skip
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)

            def log_message(handler, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("llm") / "bot"
    (root / "bot").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "theseus.toml").write_text(TOML)
    (root / "bot" / "__init__.py").write_text("")
    (root / "bot" / "app.py").write_text(APP)
    (root / "bot" / "words.py").write_text(WORDS)
    (root / "tests" / "test_words.py").write_text(
        "from bot import words\n\n\ndef test_empty():\n    assert words.count('') >= 0\n"
    )
    (root / ".gitignore").write_text(".theseus/\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    model = Model()
    env = {**os.environ, "PYTHONPATH": str(root), "OPENAI_BASE_URL": model.url,
           "OPENAI_API_KEY": "sk-live-key-never-recorded-0123456789"}  # fmt: skip
    script = "from bot.app import handle\nfor m in ['hi there', 'good day to you', 'ok']:\n" \
             "    handle(m, {})\n"  # fmt: skip
    subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True)
    settings = load_settings(root)
    with EvidenceStore(settings.evidence_path) as store:
        for task in store.tasks():
            right = len(task.output["text"].split())
            store.add_report(
                make_report(
                    task.id, expected={"$theseus": "partial", "value": {"words": right}}, task=task
                )
            )
    model.stop()  # from here on nothing answers: replay must not need it
    yield root


def _batch(root: Path, **replay: Any) -> tuple[Any, Any]:
    settings = load_settings(root)
    if replay:
        settings = settings.model_copy(update={"replay": settings.replay.model_copy(update=replay)})
    with EvidenceStore(settings.evidence_path) as store:
        [batch] = curate(store, settings)
    return batch, settings


def _candidate(root: Path, path: str, old: str, new: str) -> Candidate:
    target = root / path
    text = target.read_text()
    target.write_text(text.replace(old, new, 1))
    try:
        diff = _git(root, "diff")
    finally:
        _git(root, "checkout", "--", ".")
    head = _git(root, "rev-parse", "HEAD").strip()
    return Candidate.create(base_commit=head, diff=diff, proposer="test")


def test_the_model_calls_are_in_the_evidence_without_the_key(bot: Path) -> None:
    batch, settings = _batch(bot)
    assert len(batch.cases) == 3 and all(len(c.calls) == 1 for c in batch.cases)
    call = batch.cases[0].calls[0]
    assert call.kind == "model" and call.target.endswith("/v1/chat/completions")
    raw = settings.evidence_path.read_bytes()
    assert b"sk-live-key-never-recorded" not in raw


def test_a_fix_is_verified_on_the_recorded_answers_with_no_model_running(bot: Path) -> None:
    batch, settings = _batch(bot)
    fix = _candidate(bot, "bot/words.py", "len(text.split()) + 1", "len(text.split())")
    result = verify_candidate(fix, batch, settings, bot)
    assert result.status == "verified", result.reason
    assert result.score.replay_fixed == 3 and result.score.unrecorded_calls == []


def test_a_changed_prompt_is_an_unrecorded_call_per_case(bot: Path) -> None:
    batch, settings = _batch(bot)
    settings = settings.model_copy(  # every case run, to see each one reported
        update={"verify": settings.verify.model_copy(update={"fail_fast": False})}
    )
    changed = _candidate(
        bot, "bot/app.py", '"content": message}', '"content": message.strip() + "!"}'
    )
    result = verify_candidate(changed, batch, settings, bot)
    assert result.status == "failed"
    assert sorted(result.score.unrecorded_calls) == sorted(c.task_id for c in batch.cases)
    problems = list(result.score.case_problems.values())
    assert all(p.startswith("unrecorded_call: model call POST") for p in problems), problems
    assert "made a call the recording lacks (unrecorded_call)" in result.reason


def test_forward_sends_an_unrecorded_call_to_the_configured_server(bot: Path) -> None:
    model = Model()
    try:
        batch, settings = _batch(bot, unrecorded="forward", forward_url=model.url)
        settings = settings.model_copy(
            update={"verify": settings.verify.model_copy(update={"fail_fast": False})}
        )
        changed = _candidate(
            bot,
            "bot/app.py",
            "    text = answer.choices[0].message.content\n",
            "    text = answer.choices[0].message.content\n"
            "    text = client.chat.completions.create(model='tiny', messages=["
            "{'role': 'user', 'content': 'again'}]).choices[0].message.content or text\n",
        )
        result = verify_candidate(changed, batch, settings, bot)
    finally:
        model.stop()
    assert result.score.forwarded_calls == 3, result.reason
    assert model.seen == ["again"] * 3  # only the unrecorded call left the sandbox
    assert result.score.unrecorded_calls == []
    # the forwarded answer was used: "you said again" has 3 words, not the recorded count
    assert all(
        p.startswith("wrong_answer: reply.words") for p in result.score.case_problems.values()
    )
