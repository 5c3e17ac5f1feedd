"""The asyncio task runner shared by answering and judging.

``tasks`` (the `Task` contract and resume), ``pool`` (limits, retries, endpoint choice),
``run`` (tasks → records: `StageRunner`, `run_tasks`) and ``estimate`` (the dry run).
"""
