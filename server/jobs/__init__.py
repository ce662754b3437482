"""Long work as resumable jobs: drafting candidates and judging pairs, with progress and recorded errors.

One runner (:mod:`server.jobs.runner`) owns the job row, resume, progress, concurrency and errors; a job
is a spec of a few dozen lines: :mod:`server.jobs.draft` (candidates per prompt, pairs formed from them)
and :mod:`server.jobs.judge` (pairs judged through :class:`judges.pairwise.PairwiseJudge`; with
``mode="pointwise"`` the responses scored by :mod:`server.jobs.score`). Every
finished item is committed on its own under a natural key, so an interrupted job keeps what it finished
and the same command run again skips it; running the same job again resumes the unfinished job record of
the same kind and parameters. Jobs are rows of a durable queue (:mod:`server.storage.repos.job_queue`):
workers (:mod:`server.jobs.worker`, `rubricate worker`, the API's own) claim them under a lease renewed by
a heartbeat (:mod:`server.jobs.lease`), so a job whose worker dies is resumed by another.

The judges library does the model work through the one backend interface; these modules only decide
what to ask and store what comes back.

>>> JudgeRequest(rubric="hhh@1.0.0", orders="ab").order_list()
('ab',)
"""

from server.jobs.draft import DRAFT_PARAMS, DraftRequest, DraftSpec, draft_job
from server.jobs.judge import JudgeRequest, JudgeSpec, judge_job, judge_spec, verdict_key
from server.jobs.lease import DEFAULT_LEASE_S, Leases
from server.jobs.runner import ItemOutcome, JobResult, JobSpec, Progress, run_claimed, run_job
from server.jobs.score import ScoreSpec, score_key
from server.jobs.worker import BackgroundWorker, Worker, build_spec, enqueue

__all__ = [
    "DEFAULT_LEASE_S",
    "DRAFT_PARAMS",
    "BackgroundWorker",
    "DraftRequest",
    "DraftSpec",
    "ItemOutcome",
    "JobResult",
    "JobSpec",
    "JudgeRequest",
    "JudgeSpec",
    "Leases",
    "Progress",
    "ScoreSpec",
    "Worker",
    "build_spec",
    "draft_job",
    "enqueue",
    "judge_job",
    "judge_spec",
    "run_claimed",
    "run_job",
    "score_key",
    "verdict_key",
]
