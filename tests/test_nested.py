"""The one nested-dict diff: what a resumed upscale or training run reports when its settings moved."""

from __future__ import annotations

from realbasicvsr.nested import differences


def test_leaves_that_differ_are_named_by_their_dotted_keys():
    then = {"engine": {"chunk": 3, "tile": 0}, "codec": "h264", "gone": 1}
    now = {"engine": {"chunk": 4, "tile": 0}, "codec": "h264", "new": {"a": 1}}
    assert differences(then, now) == ["engine.chunk: 3 then, 4 now", "gone: 1 then, None now",
                                      "new: None then, {'a': 1} now"]
    assert differences(then, then) == []


def test_wording_and_ignored_keys():
    then = {"train": {"lr": 0.001, "iterations": 6}, "val": {"every": 1, "root": "a"}}
    now = {"train": {"lr": 0.002, "iterations": 9}, "val": {"every": 2, "root": "b"}}
    out = differences(then, now, template="{key} (checkpoint {then!r}, now {now!r})",
                      ignore=("train.iterations", "val."))
    assert out == ["train.lr (checkpoint 0.001, now 0.002)"]
