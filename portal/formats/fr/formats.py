# Une heure affichée nomme son fuseau (TIME_ZONE) : « 7 décembre 2026 18:49 AEDT ».
from __future__ import annotations

DATETIME_FORMAT = "j F Y H:i T"
