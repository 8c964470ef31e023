"""Bag extraction: ROS 1 and ROS 2 bags to per-topic tables (see DESIGN contract in README)."""
