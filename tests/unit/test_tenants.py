"""The Tenant aggregate: settings checked, changes recorded only when they change."""

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidValue
from domain.events import TenantChanged, TenantCreated
from domain.tenant import DEFAULT_TENANT, Tenant
from domain.values import NO_BORROWING, Limits, ResourceType

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_a_tenant_is_created_with_its_settings_and_folds_from_its_event() -> None:
    created = Tenant.create("team-a", 2, Limits(cpu=4), Limits(cpu=2, gpu=0), NOW)
    assert created == TenantCreated("team-a", 2.0, Limits(4, None), Limits(2, 0), NOW)
    tenant = Tenant.start(created)
    assert tenant == Tenant("team-a", 2.0, Limits(4, None), Limits(2, 0))
    assert tenant.cap(ResourceType.CPU) == 6
    assert tenant.cap(ResourceType.GPU) is None, "no gpu quota: no limit"


@pytest.mark.parametrize(
    ("name", "weight", "quota", "borrowing", "message"),
    [
        ("Team-A", 1, Limits(), NO_BORROWING, "lowercase"),
        ("", 1, Limits(), NO_BORROWING, "lowercase"),
        ("-a", 1, Limits(), NO_BORROWING, "lowercase"),
        ("a" * 64, 1, Limits(), NO_BORROWING, "1 to 63"),
        ("a", 0, Limits(), NO_BORROWING, "weight"),
        ("a", -1, Limits(), NO_BORROWING, "weight"),
        ("a", float("nan"), Limits(), NO_BORROWING, "weight"),
        ("a", 1001, Limits(), NO_BORROWING, "weight"),
        ("a", 1, Limits(cpu=-1), NO_BORROWING, "quota.cpu"),
        ("a", 1, Limits(gpu=1_000_001), NO_BORROWING, "quota.gpu"),
        ("a", 1, Limits(), Limits(cpu=-2), "borrowing.cpu"),
    ],
)
def test_bad_settings_are_refused(
    name: str, weight: float, quota: Limits, borrowing: Limits, message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        Tenant.create(name, weight, quota, borrowing, NOW)


def test_a_change_keeps_what_it_does_not_name_and_records_the_whole_configuration() -> None:
    tenant = Tenant("team-a", 1.0, Limits(cpu=4, gpu=1), NO_BORROWING)
    (changed,) = tenant.change(NOW, weight=3)
    assert changed == TenantChanged("team-a", 3.0, Limits(4, 1), NO_BORROWING, NOW)
    assert tenant.when(changed) == Tenant("team-a", 3.0, Limits(4, 1), NO_BORROWING)


def test_a_change_that_changes_nothing_records_nothing() -> None:
    tenant = Tenant("team-a", 2.0, Limits(cpu=4), NO_BORROWING)
    assert tenant.change(NOW, weight=2, quota=Limits(cpu=4)) == []


def test_a_bad_change_is_refused() -> None:
    with pytest.raises(InvalidValue, match="weight"):
        Tenant("team-a").change(NOW, weight=0)


def test_the_default_tenant_exists_without_events_and_its_stream_may_begin_with_a_change() -> None:
    default = Tenant.default()
    assert (default.name, default.weight, default.quota) == (DEFAULT_TENANT, 1.0, Limits())
    (changed,) = default.change(NOW, quota=Limits(gpu=2))
    assert Tenant.start(changed).quota == Limits(None, 2)
    with pytest.raises(TypeError):
        Tenant.start(TenantChanged("team-a", 1.0, Limits(), NO_BORROWING, NOW))
