import math

from shapely.geometry import MultiPolygon, Point, Polygon

from minka_common.geo import GeometryProblem, feature_collection_problems, geometry_problems, to_shape

SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
OTHER_SQUARE = [[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]]


def polygon(*rings):
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


def fields(problems):
    return [p.field for p in problems]


def test_valid_geometries_pass():
    assert geometry_problems({"type": "Point", "coordinates": [-76.5, 4.2]}) == []
    assert geometry_problems({"type": "Point", "coordinates": [-76.5, 4.2, 1800.0]}) == []
    assert geometry_problems(polygon(SQUARE)) == []
    hole = [[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.8, 0.2], [0.2, 0.2]]
    assert geometry_problems(polygon(SQUARE, hole)) == []
    assert geometry_problems({"type": "MultiPolygon", "coordinates": [[SQUARE], [OTHER_SQUARE]]}) == []


def test_to_shape():
    assert isinstance(to_shape({"type": "Point", "coordinates": [1, 2]}), Point)
    assert isinstance(to_shape(polygon(SQUARE)), Polygon)
    assert isinstance(to_shape({"type": "MultiPolygon", "coordinates": [[SQUARE]]}), MultiPolygon)


def test_not_an_object():
    assert geometry_problems([1, 2]) == [GeometryProblem("", "geometry must be a JSON object")]


def test_missing_type():
    assert fields(geometry_problems({"coordinates": [1, 2]})) == ["type"]


def test_unknown_type():
    [problem] = geometry_problems({"type": "Circle", "coordinates": [1, 2]})
    assert problem.field == "type"
    assert "unknown" in problem.reason


def test_line_string_not_allowed_by_default():
    [problem] = geometry_problems({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})
    assert problem.field == "type"
    assert "not allowed" in problem.reason


def test_line_string_allowed_when_asked():
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    assert geometry_problems(line, allowed_types=frozenset({"LineString"})) == []


def test_missing_coordinates():
    assert geometry_problems({"type": "Point"}) == [GeometryProblem("coordinates", "coordinates are required")]


def test_string_coordinates():
    assert fields(geometry_problems({"type": "Polygon", "coordinates": "0 0, 1 0, 1 1, 0 0"})) == ["coordinates"]
    assert fields(geometry_problems({"type": "Point", "coordinates": ["1", "2"]})) == ["coordinates"]


def test_wrong_nesting():
    assert fields(geometry_problems({"type": "Polygon", "coordinates": SQUARE})) == [
        f"coordinates.{i}" for i in range(5)
    ]
    assert fields(geometry_problems({"type": "MultiPolygon", "coordinates": [SQUARE]})) == [
        f"coordinates.0.{i}" for i in range(5)
    ]
    assert fields(geometry_problems({"type": "Polygon", "coordinates": []})) == ["coordinates"]


def test_position_with_one_number():
    ring = [[0, 0], [1, 0], [1], [0, 1], [0, 0]]
    assert fields(geometry_problems(polygon(ring))) == ["coordinates.0.2"]


def test_position_with_four_numbers():
    assert fields(geometry_problems({"type": "Point", "coordinates": [1, 2, 3, 4]})) == ["coordinates"]


def test_booleans_are_not_numbers():
    assert fields(geometry_problems({"type": "Point", "coordinates": [True, 2]})) == ["coordinates"]


def test_latitude_out_of_range_names_position():
    ring = [[0, 0], [1, 0], [1, 1], [0, 95], [0, 0]]
    assert geometry_problems(polygon(ring)) == [
        GeometryProblem("coordinates.0.3", "latitude 95.0 is outside [-90, 90]")
    ]


def test_longitude_out_of_range():
    assert geometry_problems({"type": "Point", "coordinates": [-181, 10]}) == [
        GeometryProblem("coordinates", "longitude -181.0 is outside [-180, 180]")
    ]


def test_non_finite_numbers():
    assert fields(geometry_problems({"type": "Point", "coordinates": [math.nan, 1]})) == ["coordinates"]
    ring = [[0, 0], [1, 0], [1, math.inf], [0, 1], [0, 0]]
    assert fields(geometry_problems(polygon(ring))) == ["coordinates.0.2"]


def test_ring_too_short():
    [problem] = geometry_problems(polygon([[0, 0], [1, 0], [0, 0]]))
    assert problem.field == "coordinates.0"
    assert "at least 4" in problem.reason


def test_unclosed_ring():
    [problem] = geometry_problems(polygon([[0, 0], [1, 0], [1, 1], [0, 1]]))
    assert problem.field == "coordinates.0"
    assert "not closed" in problem.reason


def test_unclosed_hole_in_multipolygon():
    hole = [[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.8, 0.2]]
    problems = geometry_problems({"type": "MultiPolygon", "coordinates": [[OTHER_SQUARE], [SQUARE, hole]]})
    assert fields(problems) == ["coordinates.1.1"]


def test_self_intersecting_bow_tie():
    bow_tie = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]
    [problem] = geometry_problems(polygon(bow_tie))
    assert problem.field == "coordinates"
    assert "Self-intersection" in problem.reason


def test_invalid_part_of_multipolygon_is_named():
    bow_tie = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]
    [problem] = geometry_problems({"type": "MultiPolygon", "coordinates": [[OTHER_SQUARE], [bow_tie]]})
    assert problem.field == "coordinates.1"
    assert "Self-intersection" in problem.reason


def test_overlapping_multipolygon_parts():
    shifted = [[0.5, 0.5], [1.5, 0.5], [1.5, 1.5], [0.5, 1.5], [0.5, 0.5]]
    [problem] = geometry_problems({"type": "MultiPolygon", "coordinates": [[SQUARE], [shifted]]})
    assert problem.field == "coordinates"
    assert "invalid" in problem.reason


def test_reports_every_bad_position():
    ring = [[0, 0], [200, 0], [1, 1], [0, -91], [0, 0]]
    assert fields(geometry_problems(polygon(ring))) == ["coordinates.0.1", "coordinates.0.3"]


def feature(geometry):
    return {"type": "Feature", "properties": {}, "geometry": geometry}


def test_feature_collection_valid():
    doc = {"type": "FeatureCollection", "features": [feature(polygon(SQUARE)), feature(polygon(OTHER_SQUARE))]}
    assert feature_collection_problems(doc) == []


def test_feature_collection_bad_second_feature():
    bad = polygon([[0, 0], [1, 0], [1, 1], [0, 95], [0, 0]])
    doc = {"type": "FeatureCollection", "features": [feature(polygon(SQUARE)), feature(bad)]}
    assert feature_collection_problems(doc) == [
        GeometryProblem("features.1.geometry.coordinates.0.3", "latitude 95.0 is outside [-90, 90]")
    ]


def test_feature_collection_points_not_allowed_by_default():
    doc = {"type": "FeatureCollection", "features": [feature({"type": "Point", "coordinates": [1, 2]})]}
    assert fields(feature_collection_problems(doc)) == ["features.0.geometry.type"]


def test_feature_collection_structure():
    assert fields(feature_collection_problems("nope")) == [""]
    assert fields(feature_collection_problems({"type": "Feature", "features": []})) == ["type", "features"]
    assert fields(feature_collection_problems({"type": "FeatureCollection"})) == ["features"]
    doc = {"type": "FeatureCollection", "features": [3, {"type": "Thing", "geometry": None}]}
    assert fields(feature_collection_problems(doc)) == ["features.0", "features.1.type", "features.1.geometry"]
