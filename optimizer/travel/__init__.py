"""Travel matrices: integer seconds and metres between every pair of a problem's locations.

A source turns `Problem.locations` into a `TravelMatrix`; engines and `schedule()` only ever
see the matrix. Sources: great-circle (`haversine`), a road graph (`graph`), planar
Euclidean for the classic instances (`euclidean`); any of them under time-of-day traffic
(`TimeOfDaySource` with a `speed.SpeedProfile`).
"""

from optimizer.travel.matrix import TimeOfDaySource, TravelMatrix, TravelSource
from optimizer.travel.speed import SpeedProfile

__all__ = ["SpeedProfile", "TimeOfDaySource", "TravelMatrix", "TravelSource"]
