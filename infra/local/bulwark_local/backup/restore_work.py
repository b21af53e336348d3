"""A restore job's work that runs after StartRestoreJob has answered, as AWS Backup's does.

StartRestoreJob "Recovers the saved resource identified by an Amazon Resource Name (ARN)" and
answers with the job's id at once; the job then runs (DescribeRestoreJob's Status: PENDING,
RUNNING, then COMPLETED, FAILED or ABORTED). Elsewhere the local AWS does a job's work when it
starts, inside the request. That is wrong in time for a restore whose work grows with its
recovery point: writing a 1,000,000-object bucket back takes moto about a minute, longer than
a client waits for one call (Bulwark's SDK clients give an attempt 20 s). So a kind may defer
that part of its restore (S3's objects: kinds.py); it runs on a thread of its own, and the job
stays RUNNING until it ends: COMPLETED, or FAILED with what stopped it as its StatusMessage.
The destination fills while the job runs, as it does in AWS.

The work takes the locks of what it writes itself, a part at a time (concurrency.py), so that
the service's other requests go on meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Work = Callable[[], None]


@dataclass
class Progress:
    finished_at: float | None = None
    failure: str | None = None


_deferred: dict[str, Work] = {}
_running: dict[str, Progress] = {}
_lock = threading.Lock()


def defer(job_id: str, work: Work) -> None:
    """Run `work` for the restore job `job_id` once the job exists (begin)."""
    with _lock:
        _deferred[job_id] = work


def discard(job_id: str) -> None:
    """Forget work deferred for a job that will not run (its restore failed at the start)."""
    with _lock:
        _deferred.pop(job_id, None)


def begin(job_id: str) -> None:
    """Start the work deferred for the job, if any, on a thread of its own."""
    with _lock:
        work = _deferred.pop(job_id, None)
        if work is None:
            return
        progress = _running[job_id] = Progress()

    def run() -> None:
        try:
            work()
        except Exception as err:  # the job fails with it, as a synchronous restore's would
            progress.failure = f"{type(err).__name__}: {getattr(err, 'message', None) or err}"
        progress.finished_at = time.time()

    threading.Thread(target=run, name=f"restore-{job_id}", daemon=True).start()


def progress(job_id: str) -> Progress | None:
    """The job's deferred work: None if it has none."""
    return _running.get(job_id)
