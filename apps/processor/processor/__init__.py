"""Extract ROS 1 and ROS 2 bags into per-topic tables, image files and metadata.

The command line (``python -m processor``) is the contract with the orchestrator:
see docs/contracts.md §2 and docs/processor.md.
"""

__version__ = "0.4.0"
