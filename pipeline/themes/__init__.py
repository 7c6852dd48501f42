"""HR themes and leave intent for Danish and English workplace posts (taxonomy in ``taxonomy.yaml``).

    from pipeline.themes import analyse
    [r] = analyse(["Arbejdspresset er vildt, og jeg søger nyt job."], ["da"])
    r.themes            # ['retention', 'workload']
    r.leave_intent      # True
    r.sentences         # per-sentence themes, for aspect-level sentiment

Names are exported lazily so importing the package (e.g. for the CLI) does not import spaCy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "analyse": "pipeline.themes.matcher",
    "get_analyzer": "pipeline.themes.matcher",
    "ThemeAnalyzer": "pipeline.themes.matcher",
    "ThemeResult": "pipeline.themes.matcher",
    "SentenceThemes": "pipeline.themes.matcher",
    "ThemeMatch": "pipeline.themes.matcher",
    "LeaveSignal": "pipeline.themes.leave",
    "THEME_IDS": "pipeline.themes.taxonomy",
    "load_taxonomy": "pipeline.themes.taxonomy",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
