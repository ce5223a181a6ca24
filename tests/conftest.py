import asyncio
import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def livehost_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LIVEHOST_HOME", str(home))
    monkeypatch.delenv("LIVEHOST_REDIS_URL", raising=False)
    return home


# -- a test that leaves a task which will not end fails, naming it, instead of hanging the run -----------------
# asyncio.Runner.close() cancels every task still alive and waits for them without a limit: one task that swallows
# its cancel (or is stuck in a ``finally``) stalls the whole session until the global timeout, whose dump shows
# only the runner.  This bounded version waits a while and then fails the test's teardown with each task's stack.
_TEARDOWN_DEADLINE = 20.0


def _cancel_all_tasks_bounded(loop: asyncio.AbstractEventLoop) -> None:
    to_cancel = asyncio.all_tasks(loop)
    if not to_cancel:
        return
    for task in to_cancel:
        task.cancel()
    done, pending = loop.run_until_complete(asyncio.wait(to_cancel, timeout=_TEARDOWN_DEADLINE))
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({"message": "unhandled exception during test loop shutdown",
                                         "exception": task.exception(), "task": task})
    if pending:
        report = io.StringIO()
        for task in pending:
            task.print_stack(file=report)
        raise AssertionError(f"{len(pending)} task(s) still running {_TEARDOWN_DEADLINE:.0f} s after the test's "
                             f"loop cancelled them:\n{report.getvalue()}")


asyncio.runners._cancel_all_tasks = _cancel_all_tasks_bounded  # type: ignore[attr-defined]
