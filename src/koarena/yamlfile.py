"""Reading the YAML files users give us, with errors that never quote the file's text.

PyYAML's own message shows the offending line with a caret under it; in an endpoint file that
line can hold an API key. Errors here name the file, line and column and the problem only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from koarena.errors import ConfigError, KoarenaError


def yaml_problem(path: Path | str, exc: yaml.YAMLError) -> str:
    """``file:line:column: invalid YAML: problem`` without any of the file's content."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "cannot parse"
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem += f" ({context} at line {context_mark.line + 1})"
    return f"{where}: invalid YAML: {problem}"


def load_mapping(path: Path, error: type[KoarenaError] = ConfigError) -> dict[str, Any]:
    """The YAML mapping in ``path`` (an empty file is an empty mapping); ``error`` is raised
    with one line when the file cannot be read, does not parse, or is not a mapping."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise error(f"{path}: cannot read ({reason})") from exc
    problem = None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = yaml_problem(path, exc)
    if problem is not None:
        # Raised outside the handler so that no chained exception carries PyYAML's message.
        raise error(problem)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping, got {type(raw).__name__}")
    return raw
