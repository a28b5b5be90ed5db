"""Each tenant's running tasks over time, from its running tasks now and the attempts it
started and ended per second."""

from infrastructure.sql.queries import tenant_series_view

START = 1_000


def test_running_at_each_steps_end_walks_back_from_now() -> None:
    # steps of 10 s from 1000: a ran 2 until 1015, then 4 (two started at 1015); it has
    # 3 now (one ended at 1032); b started one at 1005 that ended at 1021
    flows = [(1015, "a", 2, 0), (1032, "a", 0, 1), (1005, "b", 1, 0), (1021, "b", 0, 1)]
    view = tenant_series_view(START, 4, 10, {"a": 3}, flows, slots=8)
    assert view["tenants"]["a"]["running"] == [2, 4, 4, 3]
    assert view["tenants"]["b"]["running"] == [1, 1, 0, 0]
    assert view["tenants"]["a"]["share_pct"] == [25.0, 50.0, 50.0, 37.5]
    assert view["at"][0] == "1970-01-01T00:16:50+00:00"  # the first step's end, 1010
    assert (view["window_s"], view["slots"]) == (40, 8)


def test_a_tenant_with_nothing_running_in_the_window_is_left_out() -> None:
    view = tenant_series_view(START, 3, 10, {"idle": 0, "a": 1}, [], slots=0)
    assert set(view["tenants"]) == {"a"}
    assert view["tenants"]["a"]["share_pct"] == [0.0, 0.0, 0.0]
