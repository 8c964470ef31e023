"""Orchestrator: plans bag extraction and runs it on Azure Batch or locally."""
