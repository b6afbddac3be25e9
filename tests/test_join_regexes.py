"""``join_origin_regexes``: several incumbent regexes become one full-match alternative."""

from __future__ import annotations

import re

from crossorigin import CORSPolicy, Problem
from crossorigin.policy import join_origin_regexes


def test_join_keeps_full_match_and_per_pattern_flags() -> None:
    problems: list[Problem] = []
    joined = join_origin_regexes(
        "regexes",
        [r"https://a\.example", re.compile(r"HTTPS://B\.EXAMPLE", re.IGNORECASE)],
        problems,
    )
    assert problems == []
    assert joined is not None
    policy = CORSPolicy(allow_origin_regex=joined)
    assert policy.is_origin_allowed("https://a.example")
    assert policy.is_origin_allowed("https://b.example")
    # The flag stays scoped to its own pattern, and neither matches a longer origin.
    assert not policy.is_origin_allowed("HTTPS://A.EXAMPLE")
    assert not policy.is_origin_allowed("https://a.example.evil.net")


def test_join_single_empty_and_bad_entries() -> None:
    problems: list[Problem] = []
    assert join_origin_regexes("r", [r"https://a\.example"], problems) == r"https://a\.example"
    assert join_origin_regexes("r", [], problems) is None
    assert join_origin_regexes("r", [42], problems) is None
    assert [p.option for p in problems] == ["r"]
