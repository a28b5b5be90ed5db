"""The shop's client: registers its two pools, submits orders (CPU), renders (GPU), an
order that cannot be packed (it ends in the dead letters) and one it cancels, waits for
each, and says what became of it. Exits 1 if anything ended otherwise than expected.

    TASKROUTERX_URL=http://127.0.0.1:8000 python shop.py
"""

import os
import sys
import time

from interfaces.client import Client, ProblemError

URL = os.environ.get("TASKROUTERX_URL", "http://127.0.0.1:8000")
API_KEY = os.environ.get("TASKROUTERX_API_KEY")
POOLS = [("shop-cpu", "cpu", 1.0, 4), ("shop-gpu", "gpu", 4.0, 2)]


def main() -> int:
    with Client(URL, api_key=API_KEY) as router:
        pools = {pool["name"]: pool for pool in router.pools()}
        busy = [name for name, pool in pools.items()
                if pool["execution"] == "simulated" and not pool["draining"]]  # fmt: skip
        if busy:
            print(f"pools run in the simulator would take the shop's tasks ({', '.join(busy)}): "
                  "start the server with --no-demo-pools", file=sys.stderr)  # fmt: skip
            return 2
        for name, resource, cost, capacity in POOLS:
            if name not in pools:
                router.register_pool(name, "shop", resource, cost, capacity, execution="external")

        expected = {}
        for customer in ("ada", "grace", "linus"):
            items = {"customer": customer, "items": ["mug", "shirt"]}
            order = router.submit("order", 5, 1.0, "shop", resource_type="cpu", metadata=items)
            expected[order["id"]] = ("completed", f"order for {customer}")
        render = router.submit("simulation", 3, 2.0, "shop", resource_type="gpu",
                               metadata={"seconds": 0.5})  # fmt: skip
        expected[render["id"]] = ("completed", "product render")
        broken = router.submit("order", 5, 1.0, "shop", resource_type="cpu", max_attempts=2,
                               metadata={"customer": "eve", "items": ["out-of-stock"]})  # fmt: skip
        expected[broken["id"]] = ("failed", "order that cannot be packed")
        slow = router.submit("order", 5, 1.0, "shop", resource_type="cpu",
                             metadata={"customer": "bob", "items": ["sofa"] * 100,
                                       "seconds_per_item": 1.0})  # fmt: skip
        expected[slow["id"]] = ("cancelled", "order cancelled while packing")
        while router.get(slow["id"])["lease"] is None:  # until a worker has it
            time.sleep(0.1)
        router.cancel(slow["id"], reason="the customer changed their mind")

        wrong = 0
        for task_id, (status, what) in expected.items():
            try:
                done = router.wait(task_id, timeout_s=120)
            except (TimeoutError, ProblemError) as error:
                print(f"{what}: {error}")
                wrong += 1
                continue
            first_line = (done["error"] or "").splitlines()[:1]
            print(f"{what}: {done['status']} after {done['attempt']} attempt(s)"
                  + (f" ({first_line[0]})" if first_line else ""))  # fmt: skip
            wrong += done["status"] != status
        dead = [task for task in router.tasks(status="failed") if task["id"] == broken["id"]]
        print(f"in the dead letters: {len(dead)} of the shop's orders")
        return 1 if wrong or len(dead) != 1 else 0


if __name__ == "__main__":
    sys.exit(main())
