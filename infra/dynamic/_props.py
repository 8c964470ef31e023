"""Helpers for the property bags Pulumi hands dynamic providers.

Pulumi passes a provider's `diff` and `update` the *outputs* it saved last time as `olds`, so every
provider returns its inputs among its outputs: that is what lets `diff` compare like with like.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.dynamic._azure import is_unknown

PROVIDER_KEY = "__provider"


def inputs_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's own properties, without the serialized provider Pulumi adds."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def changed_keys(
    olds: Mapping[str, Any], news: Mapping[str, Any], keys: Iterable[str]
) -> list[str]:
    """The `keys` whose new value differs from the old one (unknown values count as changed)."""
    return [k for k in keys if is_unknown(news.get(k)) or olds.get(k) != news.get(k)]
