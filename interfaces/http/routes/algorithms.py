from typing import Any

from fastapi import APIRouter, Request, Response

from application.commands.switch_algorithm import SwitchAlgorithm
from domain.values import Algorithm
from interfaces.http.deps import Reads
from interfaces.http.idempotent import Answer, execute, json_body
from interfaces.http.middleware.auth import ADMIN, READ, requires
from interfaces.http.schemas import Algorithms, AlgorithmSwitch, AlgorithmSwitched

router = APIRouter(prefix="/api/v1/algorithms", tags=["algorithms"])


@router.get("", dependencies=[requires(READ)], response_model=Algorithms)
def algorithms(reads: Reads) -> dict[str, Any]:
    active = reads.active_algorithm()
    return {"active": str(active), "available": [str(algorithm) for algorithm in Algorithm]}


@router.post("/switch", dependencies=[requires(ADMIN)], response_model=AlgorithmSwitched)
async def switch(body: AlgorithmSwitch, request: Request) -> Response:
    answer = json_body(200, {"status": "success", "algorithm": str(body.algorithm)})
    return await execute(request, SwitchAlgorithm(body.algorithm), Answer(answer))
