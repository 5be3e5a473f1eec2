# A time on a page names its zone (TIME_ZONE): "Dec. 7, 2026, 6:49 p.m. AEDT".
from __future__ import annotations

DATETIME_FORMAT = "N j, Y, P T"
