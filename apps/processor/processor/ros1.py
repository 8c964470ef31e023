"""Where the ROS 1 wire format differs from how rosbags types what it decodes."""

from __future__ import annotations

from typing import Any

from rosbags.interfaces import Nodetype

ROS1_TIME = "builtin_interfaces/msg/Time"
FieldDesc = tuple[Any, Any]


def ros1_desc(msgtype: str, field: str, desc: FieldDesc) -> FieldDesc:
    """A field's description as the ROS 1 wire holds it: rosbags decodes ROS 1 `time` as
    builtin_interfaces/Time, whose `sec` is int32, while ROS 1 time seconds are uint32
    (http://wiki.ros.org/msg#Field_Types): from 2038 on they would read negative. ROS 1
    has no builtin_interfaces package, so in a ROS 1 bag this type is always `time`."""
    if msgtype == ROS1_TIME and field == "sec":
        return (Nodetype.BASE, ("uint32", 0))
    return desc
