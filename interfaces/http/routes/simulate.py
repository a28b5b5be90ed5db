import uuid
from typing import Any

from fastapi import APIRouter, HTTPException

from application.simulation.traffic import TrafficPlan, TrafficRun
from interfaces.http.deps import Context, Traffic
from interfaces.http.middleware.auth import ADMIN, READ, requires
from interfaces.http.schemas import SimulationCreate, SimulationOut

router = APIRouter(prefix="/api/v1/simulate", tags=["simulate"])


@router.post("", dependencies=[requires(ADMIN)], status_code=202, response_model=SimulationOut)
def simulate(body: SimulationCreate, traffic: Traffic, context: Context) -> dict[str, Any]:
    plan = TrafficPlan(
        body.task_count, body.distribution, body.priority_range, body.cost_range, body.region_bias
    )
    return _view(traffic.start(plan, context))


@router.get("/{run_id}", dependencies=[requires(READ)], response_model=SimulationOut)
def simulation(run_id: uuid.UUID, traffic: Traffic) -> dict[str, Any]:
    run = traffic.get(str(run_id))
    if run is None:
        raise HTTPException(404, f"simulation {run_id} does not exist")
    return _view(run)


def _view(run: TrafficRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "task_count": run.plan.task_count,
        "tasks_created": run.tasks_created,
        "start_time": run.start_time.isoformat(),
        "status": run.status,
        "distribution": str(run.plan.distribution),
        "error": run.error,
    }
