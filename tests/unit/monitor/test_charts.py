from __future__ import annotations

import xml.etree.ElementTree as ET

from pipelines.monitor.charts import line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_series_with_a_gap_a_threshold_and_a_flagged_point():
    svg = ET.fromstring(line_chart(["05-10", "05-11", "05-12", "05-13"], [14.0, None, 20.0, 16.0],
                                   title="live rmse <by day>", threshold=18.0,
                                   flagged=[False, False, True, False]))  # fmt: skip

    points = svg.findall(f"{SVG}circle")
    assert len(points) == 3, "no point where there is no value"
    assert [p.get("class") for p in points] == ["point", "point flagged", "point"]
    assert len(svg.findall(f"{SVG}polyline")) == 1, "the gap splits the line; a lone point draws none"
    threshold = svg.find(f"{SVG}line[@class='threshold']")
    assert threshold is not None
    high, low = float(points[1].get("cy")), float(points[0].get("cy"))
    assert high < float(threshold.get("y1")) < low, "18 is drawn between 20 and 14"
    assert svg.find(f"{SVG}text").text == "live rmse <by day>"


def test_no_values_says_so():
    svg = ET.fromstring(line_chart([], [], title="drift share", threshold=0.3))

    assert "no data yet" in [t.text for t in svg.findall(f"{SVG}text")]
