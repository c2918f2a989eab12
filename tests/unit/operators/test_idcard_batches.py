"""The ID-card DAG's batches: fronts and backs told apart by file name, each side batched with its
``id_card_side``, files matching neither skipped with a warning (never sent with a guessed side)."""

from __future__ import annotations

import logging

from baidu_ocr.pipeline.s3_batches import plan_s3_idcard_batches

from tests.unit.operators.conftest import BUCKET, png


def test_sides_are_batched_apart_labelled_and_unmatched_files_skipped(s3, caplog):
    names = [
        "a_front.png",
        "b_front.png",
        "c_front.png",
        "a_back.png",
        "scan_both_front_back.png",
        "memo.png",
    ]
    for i, name in enumerate(names):
        s3.load_bytes(png(i + 1, (20, 20)), f"cards/{name}", BUCKET)

    with caplog.at_level(logging.WARNING, logger="baidu_ocr.pipeline.assets"):
        specs = plan_s3_idcard_batches(
            BUCKET,
            "cards/",
            2,
            front_pattern="*front*",
            back_pattern="*back*",
            options={"detect_risk": "true"},
            max_failure_ratio=0.2,
        )

    by_side = {
        side: [spec["keys"] for spec in specs if spec["options"]["id_card_side"] == side]
        for side in ("front", "back")
    }
    assert by_side["front"] == [["cards/a_front.png", "cards/b_front.png"], ["cards/c_front.png"]]
    # A name matching both patterns is a back.
    assert by_side["back"] == [["cards/a_back.png", "cards/scan_both_front_back.png"]]
    assert all(
        spec["options"]["detect_risk"] == "true" and spec["max_failure_ratio"] == 0.2 for spec in specs
    )
    assert [spec["batch_label"].split(" · ")[:2] for spec in specs] == [
        ["front", "batch 1/3"],
        ["front", "batch 2/3"],
        ["back", "batch 3/3"],
    ]
    assert "cards/memo.png" in caplog.text and "matches neither" in caplog.text
    assert not any("memo" in key for spec in specs for key in spec["keys"])
