"""Pulumi dynamic providers that ship the code with `pulumi up` (docs/dynamic-providers.md):
processor_image, orchestrator_package and trigger_state, one provider per module."""
