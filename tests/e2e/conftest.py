"""Azurite for the end-to-end runs whose lake is in (emulated) Blob storage."""

from tests.dynamic.conftest import azurite, loopback_ca

__all__ = ["azurite", "loopback_ca"]
