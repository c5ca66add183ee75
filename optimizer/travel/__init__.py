"""Travel matrices: integer seconds and metres between every pair of a problem's locations.

A source turns `Problem.locations` into a `TravelMatrix`; engines and `schedule()` only ever
see the matrix. Sources: great-circle (`haversine`), a road graph (`graph`), planar
Euclidean for the classic instances (`euclidean`).
"""

from optimizer.travel.matrix import TravelMatrix, TravelSource

__all__ = ["TravelMatrix", "TravelSource"]
