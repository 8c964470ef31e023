"""`python -m processor` on the fake Batch service's execution node: the fake processor.

The fake service runs container tasks through the image's real entry point
(apps/processor/entrypoint.sh), which runs `$PROCESSOR_PYTHON -m processor`; with this folder
first on PYTHONPATH, that is tests/orchestrator/fake_processor.py.
"""
