"""Errors that map to the command line's exit statuses (docs/contracts.md §2)."""


class BagError(Exception):
    """The input cannot be used as asked: exit status 2 with a one-line reason.

    Raised for a bag that is missing, truncated, corrupt or not a bag, for a bad
    command line (unknown topic, bad shard), and for a merge whose parts are
    missing or incomplete.
    """


class TopicDecodeError(Exception):
    """One message of a topic could not be decoded with the topic's definition."""
