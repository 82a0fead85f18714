"""register_daily_job: `outbox work` runs each job once a day, whichever worker gets there."""

from __future__ import annotations

from mailer.daily_jobs import last_runs, register_daily_job, run_due_daily_jobs


def test_a_registered_job_runs_once_however_often_workers_look(app_ctx):
    runs = []
    register_daily_job("test-count-runs", lambda: runs.append(1))

    first = run_due_daily_jobs(lambda line: None)
    second = run_due_daily_jobs(lambda line: None)

    assert "test-count-runs" in first
    assert "test-count-runs" not in second
    assert runs == [1]
    assert last_runs()["test-count-runs"] is not None


def test_a_failing_job_is_reported_and_the_others_still_run(app_ctx):
    reported, runs = [], []

    def broken():
        raise RuntimeError("disk full")

    register_daily_job("test-broken", broken)
    register_daily_job("test-after-broken", lambda: runs.append(1))

    run_due_daily_jobs(reported.append)

    assert "daily job test-broken failed: RuntimeError: disk full" in reported
    assert runs == [1]
