"""offline/stand_ins.py answers for every dynamic resource in infra/dynamic, and fills every
output the resource declares, so nothing downstream sees a seeded `None` under the mocks."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from pulumi.dynamic import Resource

import infra.dynamic
from offline import Recording
from offline.stand_ins import STAND_INS, TYPE_PREFIX


def dynamic_resources() -> list[type[Resource]]:
    found: list[type[Resource]] = []
    for module in pkgutil.iter_modules(infra.dynamic.__path__):
        loaded = importlib.import_module(f"infra.dynamic.{module.name}")
        classes = inspect.getmembers(loaded, inspect.isclass)
        found += [
            cls
            for _, cls in classes
            if issubclass(cls, Resource) and cls.__module__ == loaded.__name__
        ]
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_dynamic_resource_has_a_stand_in_and_nothing_else_does() -> None:
    tokens = {TYPE_PREFIX + cls.__name__ for cls in dynamic_resources()}
    assert len(tokens) >= 4
    assert tokens == set(STAND_INS)


@pytest.mark.parametrize("cls", dynamic_resources(), ids=lambda cls: cls.__name__)
def test_every_declared_output_is_filled_in_the_programs_recording(
    cls: type[Resource], recordings: dict[str, Recording]
) -> None:
    outputs = list(vars(cls).get("__annotations__", {}))  # its own, not Resource's
    declared = [r for rec in recordings.values() for r in rec.of_type(TYPE_PREFIX + cls.__name__)]
    assert declared, f"no stack declares a {cls.__name__}"
    for resource in declared:
        empty = [name for name in outputs if resource.state.get(name) is None]
        assert not empty, f"{resource.name}: {empty} are None under the mocks"
