"""``koarena translate``: an English arena-hard bench → a Korean one, with checks.

Pure parts: ``masking`` (protected spans → tokens and back), ``checks`` (per-turn quality),
``prompt`` (the translation request), ``judge_prompts`` (Korean judge prompts per category),
``items`` (source records ↔ translated records). Running: ``task`` (one question on the shared
runner), ``stage`` (plan, run, merge, summary), ``judge_files`` (the new bench's protocol) and
``review`` (the side-by-side review page).
"""
