"""The leader lock is per database: a node leading another deployment's database on the
same PostgreSQL server is not this database's leader."""

import time

from infrastructure.replication.postgres_nodes import Leadership, current_leader
from tests.postgres_support import fresh_database


def test_a_leader_of_another_database_on_the_server_is_not_this_ones(postgres_url: str) -> None:
    with fresh_database() as other:
        elsewhere = Leadership(other, [], retry_s=0.05, node="elsewhere:1")
        elsewhere.start()
        try:
            deadline = time.monotonic() + 10
            while current_leader(other) != "elsewhere:1":
                assert time.monotonic() < deadline, "the other database's node never led"
                time.sleep(0.05)
            assert current_leader(postgres_url) is None
        finally:
            elsewhere.stop()
