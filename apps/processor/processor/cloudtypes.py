"""Which message types are point clouds whose points the processor reads
(processor.pointclouds): sensor_msgs/PointCloud2 and PointCloud as sensor_msgs defines them.

Definitions come from the bag: a type under one of these names whose fields differ is
flattened like any other type (its payload a .bin file).
"""

from __future__ import annotations

from typing import Any

from rosbags.interfaces import Nodetype
from rosbags.typesys.store import Typestore

POINT_CLOUD2 = "sensor_msgs/msg/PointCloud2"
POINT_CLOUD = "sensor_msgs/msg/PointCloud"


def _base(name: str) -> tuple[Nodetype, tuple[str, int]]:
    return (Nodetype.BASE, (name, 0))


# The fields processor.pointclouds reads, as rosbags describes them in every distribution's
# sensor_msgs (the header aside, which differs between ROS 1 and 2).
_CLOUD2_FIELDS = {
    "height": _base("uint32"),
    "width": _base("uint32"),
    "fields": (Nodetype.SEQUENCE, ((Nodetype.NAME, "sensor_msgs/msg/PointField"), 0)),
    "is_bigendian": _base("bool"),
    "point_step": _base("uint32"),
    "row_step": _base("uint32"),
    "data": (Nodetype.SEQUENCE, (_base("uint8"), 0)),
    "is_dense": _base("bool"),
}
_POINT_FIELD = [
    ("name", _base("string")),
    ("offset", _base("uint32")),
    ("datatype", _base("uint8")),
    ("count", _base("uint32")),
]
_CLOUD_FIELDS = {
    "points": (Nodetype.SEQUENCE, ((Nodetype.NAME, "geometry_msgs/msg/Point32"), 0)),
    "channels": (Nodetype.SEQUENCE, ((Nodetype.NAME, "sensor_msgs/msg/ChannelFloat32"), 0)),
}
_POINT32 = [("x", _base("float32")), ("y", _base("float32")), ("z", _base("float32"))]
_CHANNEL = [("name", _base("string")), ("values", (Nodetype.SEQUENCE, (_base("float32"), 0)))]


def _fields(store: Typestore, msgtype: str) -> list[tuple[str, Any]] | None:
    definition = store.fielddefs.get(msgtype)
    return None if definition is None else list(definition[1])


def is_point_cloud2(store: Typestore, msgtype: str) -> bool:
    """`msgtype` is sensor_msgs/PointCloud2 as sensor_msgs defines it (so its points can be
    read), not another definition under that name."""
    fields = _fields(store, msgtype)
    if msgtype != POINT_CLOUD2 or fields is None:
        return False
    own = {name: desc for name, desc in fields if name != "header"}
    return own == _CLOUD2_FIELDS and _fields(store, "sensor_msgs/msg/PointField") == _POINT_FIELD


def is_point_cloud(store: Typestore, msgtype: str) -> bool:
    """`msgtype` is sensor_msgs/PointCloud (Point32 points, float32 channels) as defined."""
    fields = _fields(store, msgtype)
    if msgtype != POINT_CLOUD or fields is None:
        return False
    own = {name: desc for name, desc in fields if name != "header"}
    return (
        own == _CLOUD_FIELDS
        and _fields(store, "geometry_msgs/msg/Point32") == _POINT32
        and _fields(store, "sensor_msgs/msg/ChannelFloat32") == _CHANNEL
    )
