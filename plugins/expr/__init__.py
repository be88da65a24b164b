"""Expression steps for any survey: ``expr.cut`` (a selection) and ``expr.feature`` (a derived column),
both written in the recipe in the safe grammar of ``toolkit.core.Expression``."""
