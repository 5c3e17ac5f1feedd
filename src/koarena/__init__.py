"""koarena: the Korean Arena-Hard-Auto benchmark as an installable, tested tool."""

__version__ = "0.1.0"
