"""State from before a slice's start that a subscriber at the start would still have.

A latched ROS 1 topic (`latching=1` in its connection header) and a ROS 2 topic offered with
transient-local durability hand their last message to every late subscriber; `/tf_static`
is how both publish transforms that never change. A slice that starts after such a message
would otherwise lose it: so the last message before the start of each latched connection,
and every `/tf_static` message before it (each static publisher's message carries only its
own transforms, and in ROS 2 they all share one connection), are written first, and counted
per topic in the manifest's `before_start` (docs/processor.md, "Time slices").
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from rosbags.interfaces import ConnectionExtRosbag1, ConnectionExtRosbag2, QosDurability
from rosbags.rosbag1 import Reader as Reader1

from processor.bag import Bag, Stream
from processor.options import slashed

TF_STATIC = "/tf_static"
_FIRST_WINDOW_NS = 10**9  # ROS 2 bags have no per-topic index: look back 1 s, then 2, 4, ...

Message = tuple[Stream, int, bytes]


def is_latched(stream: Stream) -> bool:
    """A connection whose last message stays valid until the next one (or forever)."""
    if slashed(stream.topic) == TF_STATIC:
        return True
    ext = stream.connection.ext
    if isinstance(ext, ConnectionExtRosbag1):
        return ext.latching == 1
    if isinstance(ext, ConnectionExtRosbag2):
        return any(
            qos.durability == QosDurability.TRANSIENT_LOCAL for qos in ext.offered_qos_profiles
        )
    return False


def state_before(bag: Bag, streams: Sequence[Stream], before: int) -> list[Message]:
    """The latched messages of `streams` logged before `before`, in log-time order."""
    latched = [s for s in streams if is_latched(s)]
    every = [s for s in latched if slashed(s.topic) == TF_STATIC]
    last = [s for s in latched if slashed(s.topic) != TF_STATIC]
    found: list[Message] = list(bag.messages(every, None, before)) if every else []
    indexed = [s for s in last if isinstance(s.connection.owner, Reader1)]
    for stream in indexed:
        found.extend(_last_indexed(bag, stream, before))
    others = [s for s in last if not isinstance(s.connection.owner, Reader1)]
    found.extend(_last_by_window(bag, others, before))
    return sorted(found, key=lambda message: message[1])


def _last_indexed(bag: Bag, stream: Stream, before: int) -> Iterator[Message]:
    """ROS 1: the connection's index names the time of its last message before `before`,
    so only the chunk that holds it is read."""
    owner = stream.connection.owner
    assert isinstance(owner, Reader1)
    index = owner.indexes.get(stream.connection.id, [])
    position = bisect_left(index, before, key=lambda entry: entry.time)
    if position == 0:
        return
    time = index[position - 1].time
    at_that_time = list(bag.messages([stream], time, time + 1))
    if at_that_time:
        yield at_that_time[-1]


def _last_by_window(bag: Bag, streams: Sequence[Stream], before: int) -> list[Message]:
    """ROS 2: read ever wider windows back from `before` (MCAP skips the chunks outside each
    window by their message_start_time/message_end_time, sqlite3 narrows its query with
    `WHERE timestamp`) until every stream's last message is found or the bag's start."""
    pending = list(streams)
    found: list[Message] = []
    high, width = before, _FIRST_WINDOW_NS
    while pending and high > bag.start_ns:
        low = max(high - width, bag.start_ns)
        latest: dict[int, Message] = {}
        for message in bag.messages(pending, low, high):
            seen = latest.get(id(message[0]))
            if seen is None or message[1] >= seen[1]:
                latest[id(message[0])] = message
        found.extend(latest.values())
        pending = [s for s in pending if id(s) not in latest]
        high, width = low, width * 2
    return found
