"""Road maps: which the service knows (a problem names one in `road_map`), and their streets in
a box, drawn by the console as its base layer when no tile server is set."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CurrentPrincipal, ServiceDep
from api.errors import ApiError
from api.roads import ATTRIBUTION, roads_in

router = APIRouter(prefix="/v1/maps", tags=["maps"])


class MapOut(BaseModel):
    name: str = Field(description="what a problem's `road_map` says to be planned on this map")
    file: str
    nodes: int
    segments: int
    bbox: tuple[float, float, float, float] = Field(description="west, south, east, north")
    default: bool = Field(description="plans that name no map are planned on this one")


class MapsOut(BaseModel):
    maps: list[MapOut]
    attribution: str = ATTRIBUTION


class RoadsOut(BaseModel):
    map: str
    attribution: str = ATTRIBUTION
    classes: list[str] = Field(description="road classes (OpenStreetMap `highway`), most important first")
    kept_to: str = Field(description="the least important class drawn (minor ones are left out of a big box)")
    lines: list[tuple[int, list[tuple[float, float]]]] = Field(
        description="[class index, [[lat, lon], ...]] per polyline"
    )


@router.get("", response_model=MapsOut)
def list_maps(service: ServiceDep, _: CurrentPrincipal) -> MapsOut:
    """The road maps this service plans on (`ONTIME_ROAD_MAP`, `ONTIME_ROAD_MAPS`)."""
    return MapsOut(maps=[MapOut(**vars(info)) for info in service.runtime.maps.infos()])


@router.get("/{name}/roads", response_model=RoadsOut)
def map_roads(
    name: str,
    service: ServiceDep,
    _: CurrentPrincipal,
    west: Annotated[float, Query(ge=-180, le=180)],
    south: Annotated[float, Query(ge=-90, le=90)],
    east: Annotated[float, Query(ge=-180, le=180)],
    north: Annotated[float, Query(ge=-90, le=90)],
) -> RoadsOut:
    """The map's streets inside the box, as polylines by road class; in a big box the minor
    classes are left out so the answer stays small."""
    if west >= east or south >= north:
        raise ApiError(
            422,
            "invalid_input",
            "the box needs west < east and south < north",
            [{"field": "bbox", "id": name, "message": "empty box"}],
        )
    source = service.runtime.maps.networks.get(name)
    if source is None:
        raise ApiError(404, "not_found", f"no road map named {name!r}")
    classes, lines, kept = roads_in(source, (west, south, east, north))
    return RoadsOut(map=name, classes=classes, kept_to=classes[kept], lines=lines)
