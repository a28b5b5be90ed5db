from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response

from application.audit.continuous import VerificationJob, VerificationRunning
from application.views import iso_timestamp
from interfaces.http.deps import Reads, Verifications, Verifier
from interfaces.http.middleware.auth import ADMIN, requires
from interfaces.http.problems import problem
from interfaces.http.schemas import VerificationJobOut, VerifiedOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/verify", dependencies=[requires(ADMIN)], response_model=VerifiedOut)
def verify(verifier: Verifier, reads: Reads, response: Response) -> Any:
    """The latest result of the verification that follows the log: every recorded decision
    recomputed with the algorithm version that made it (compact records from the pools
    rebuilt from the log, checked against their digests), the domain invariants checked at
    every step of a fold from position 0, and the hash chain walked. It covers the log up
    to `verified_to`, at most a moment behind the head; answered at once. A full
    re-verification from position 0: POST to this path."""
    latest = None if verifier is None else verifier.wait_for_first(timeout_s=1.0)
    if latest is None:
        why = (
            "continuous verification is off (VERIFY_CONTINUOUSLY)"
            if verifier is None
            else "the first verification round has not finished yet"
        )
        failed = problem(503, f"{why}: POST /api/v1/audit/verify starts a full verification")
        failed.headers["Retry-After"] = "1"
        return failed
    head = reads.head()
    return {
        **audit_view(latest.report),
        "verified_to": latest.verified_to,
        "verified_at": iso_timestamp(latest.at),
        "log_head": head,
        "behind": max(head - latest.verified_to, 0),
    }


@router.post(
    "/verify",
    dependencies=[requires(ADMIN)],
    status_code=202,
    response_model=VerificationJobOut,
    responses={409: {"description": "a full verification is running already"}},
)
def start_verification(request: Request, jobs: Verifications, response: Response) -> Any:
    """Start a full verification from position 0 in the background; poll the job at the
    `Location` it answers with. One runs at a time (409 names the running one)."""
    try:
        job = jobs.start()
    except VerificationRunning as running:
        return problem(409, str(running), "verification-running", job_id=running.job.id)
    response.headers["Location"] = str(request.url_for("verification_job", job_id=job.id))
    return job_view(job)


@router.get(
    "/verify/jobs/{job_id}",
    name="verification_job",
    dependencies=[requires(ADMIN)],
    response_model=VerificationJobOut,
)
def verification_job(job_id: str, jobs: Verifications) -> Any:
    """A full verification's progress, and its report once done."""
    job = jobs.get(job_id)
    if job is None:
        return problem(404, f"no verification job {job_id} (the last 10 are kept)")
    return job_view(job)


def job_view(job: VerificationJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "phase": job.phase,
        "done": job.done,
        "total": job.total,
        "started_at": iso_timestamp(job.started_at),
        "finished_at": None if job.finished_at is None else iso_timestamp(job.finished_at),
        "error": job.error,
        "report": None if job.report is None else audit_view(job.report),
    }


def audit_view(report: Any) -> dict[str, Any]:
    return {**asdict(report), "ok": report.ok}
