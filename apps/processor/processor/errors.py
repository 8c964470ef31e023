"""Errors that map to the command line's exit statuses (docs/contracts.md §2)."""

import re


class BagError(Exception):
    """The input cannot be used as asked: exit status 2 with a one-line reason.

    Raised for a bag that is missing, truncated, corrupt or not a bag, for a bad
    command line (unknown topic, bad shard), and for a merge whose parts are
    missing or incomplete.
    """


class TopicDecodeError(Exception):
    """One message of a topic could not be decoded with the topic's definition."""


def one_line(text: str) -> str:
    """`text` as one printable line: error messages and reports quote names from the bag
    (topics, sqlite's own messages), which may hold newlines or control characters."""
    shown = "".join(
        char if char.isprintable() else (" " if char.isspace() else repr(char)[1:-1])
        for char in text
    )
    return re.sub(" {2,}", " ", shown).strip()


# rosbags formats some causes into its own messages as `{err.args}`: ('Header could not...',)
_ARGS_TUPLE = re.compile(r"""\((['"])(.*?)\1,?\)""")


def reason(err: BaseException) -> str:
    """The text of an exception from a library, for a one-line message."""
    text = " ".join(str(arg) for arg in err.args) or type(err).__name__
    return one_line(_ARGS_TUPLE.sub(lambda match: match[2], text))
