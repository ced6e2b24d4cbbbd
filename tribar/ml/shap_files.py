"""Where ``tribar features`` saves its SHAP charts, which ``tribar report`` shows (no heavy
imports: ``tribar report`` reads these names when it builds its parser)."""

from pathlib import Path

DEFAULT_OUT = Path("config/selected_features.json")
# The charts go beside --out unless --plots-dir says otherwise.
DEFAULT_PLOTS_DIR = DEFAULT_OUT.parent
BAR_PNG, BEESWARM_PNG = "shap_importance_bar.png", "shap_beeswarm.png"
