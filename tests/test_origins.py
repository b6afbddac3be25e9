"""Origins: the strict request parser, the configuration parser and the compiled matcher."""

from __future__ import annotations

import pytest

from crossorigin import ConfigError, CORSPolicy


@pytest.mark.parametrize(
    ("entry", "kind", "suggested"),
    [
        ("https://a.com?x/y", "a query", "https://a.com"),
        ("https://a.com#f/x", "a fragment", "https://a.com"),
        ("https://a.com#f?x", "a fragment", "https://a.com"),
        ("https://user@a.com/", "slash", "https://a.com"),
        ("https://user:pw@a.com:8443/app", "a path", "https://a.com:8443"),
    ],
)
def test_fix_for_a_url_names_the_origin_before_the_first_delimiter(
    entry: str, kind: str, suggested: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        CORSPolicy(allow_origins=[entry])
    (problem,) = caught.value.problems
    assert kind in problem.message
    assert problem.fix == f"write {suggested!r}"
    assert CORSPolicy(allow_origins=[suggested]).is_origin_allowed(suggested)
