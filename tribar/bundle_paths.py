"""Where the bundle's own Freqtrade classes live, wherever tribar is installed.

config.json names no ``freqaimodel_path``: Freqtrade already searches
``<user_data_dir>/freqaimodels`` (this repository's ``user_data/freqaimodels``), and naming the
same folder again made ``list-freqaimodels`` list the model twice. Runs that use another
user data folder (the replay, the demo, the evaluation, throw-away test folders) pass this
folder explicitly instead.
"""

from __future__ import annotations

from pathlib import Path

import tribar.freqaimodels

FREQAIMODEL_DIR = Path(tribar.freqaimodels.__file__).resolve().parent
