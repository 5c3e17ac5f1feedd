"""The data of ``analysis.html``: an `koarena.analysis.analyze` result cut to what the page shows.

The page draws every section of the analysis as tables. Three parts of the result are bulky and
not drawn there, so they are left out to keep the page small: each model's win rate in every
cluster (the leaderboard page has them; the analysis page shows each model's weakest clusters),
the leaderboards behind the separability numbers (the leaderboard page has them too) and the
ids of the questions each model did not answer in Korean.
"""

from __future__ import annotations

from typing import Any

from koarena.korean import FOREIGN_SCRIPTS


def analysis_page_data(result: dict[str, Any], browse_models: list[str]) -> dict[str, Any]:
    """The page's data for ``result`` (an `analyze` dict, not modified).

    ``browse_models`` are the models the judgment browser has answers and verdicts of: the page
    links only those to ``browse.html``. Sections the data cannot answer keep their reason.
    """
    out = {k: v for k, v in result.items() if k not in ("separability", "clusters")}
    out["browse_models"] = browse_models
    out["scripts"] = list(FOREIGN_SCRIPTS)

    sep = result["separability"]
    if sep.get("available"):
        sep = {
            **sep,
            "controls": {
                c: {k: v for k, v in e.items() if k != "leaderboard"}
                for c, e in sep["controls"].items()
            },
        }
    out["separability"] = sep

    clusters = result["clusters"]
    if clusters.get("available"):
        clusters = {
            **clusters,
            "models": {m: {"weakest": e["weakest"]} for m, e in clusters["models"].items()},
        }
    out["clusters"] = clusters

    korean = result["korean_fidelity"]
    if korean.get("available"):
        korean = {
            **korean,
            "models": [
                {k: v for k, v in r.items() if k != "not_korean_questions"}
                for r in korean["models"]
            ],
        }
    out["korean_fidelity"] = korean
    return out
