"""What the tenant tests through the real app share: a cpu task, the demo pools' cpu
slots, and each tenant's running tasks."""

from fastapi.testclient import TestClient

CPU_TASK = {
    "type": "order",
    "priority": 5,
    "cost": 1.0,
    "region": "us-east",
    "resource_type": "cpu",
}
CPU_CAPACITY = 34
"""The demo pools' cpu slots (10 + 8 + 10 + 6)."""


def running(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, int]:
    tenants = client.get("/api/v1/tenants", headers=headers).json()["tenants"]
    return {t["name"]: t["processing"] for t in tenants}
