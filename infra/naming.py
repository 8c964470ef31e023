"""Split into infra/names.py (the names the stack fixes) and infra/node_commands.py (the command
lines nodes run). A stop-gap for infra/components/data_factory.py and its test, which other work
is changing at the same time: it goes once they import from the two modules themselves."""

from infra.names import *  # noqa: F403
from infra.node_commands import *  # noqa: F403
