"""Origin regexes and subdomain patterns: refused exactly when they reach sites not named.

Every over-matching regex of the audit (issue 10) is a regression test here; the refusal
must name an origin the regex really accepts (checked with ``re``) and a fix that is itself
accepted. A Hypothesis property composes regexes from the usual pieces and checks, for every
accepted one, that the origins it matches all lie inside the domains it spells.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import warnings

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crossorigin import ConfigError, CORSPolicy
from crossorigin.origin_analysis import (
    ALPHABET,
    check_origin_regex,
    public_suffix_list_date,
    registrable_domain,
)
from crossorigin.origins import parse_request_origin

# (regex, an origin it must be shown to accept or a shape the example must have)
OVER_MATCHING = [
    # Unescaped dot: grants https://aaexample.com and friends.
    (r"https://[a-z]+.example.com", "example.com"),
    # No label boundary: grants https://evilexample.com.
    (r"https://.*example\.com", "example.com"),
    # A whole top-level domain, or several.
    (r"https?://.*\.com", ".com"),
    (r"https://\w+\.com", ".com"),
    (r"https://.*\.(com|net|org)", ""),
    # Every http origin, every origin.
    (r"http://.*", "http://"),
    (r".*", ""),
    (r"https://.*", "https://"),
    (r"https?://.+", ""),
    (r"https://[^/]+", "https://"),
    # Prefix: the name followed by anything.
    (r"https://example\.com.*", "example.com."),
    (r"https://app\.example\.com(\..*)?", "app.example.com."),
    # Another registrable domain under the same public suffix.
    (r"https://[a-z]+\.co\.uk", ".co.uk"),
    (r"https://[a-z]\.com", ".com"),
    # Across a public suffix, ICANN or private.
    (r"https://.*\.run\.app", ".run.app"),
    (r"https://.*\.co\.il", ".co.il"),
    (r"https://.*\.compute\.amazonaws\.com", ".compute.amazonaws.com"),
    (r"https://[a-z0-9-]+\.myshopify\.com", ".myshopify.com"),
    (r"https://.*\.trycloudflare\.com", ".trycloudflare.com"),
    # A host that is not ended: any suffix can follow.
    (r"https://example\.com[a-z.]*", "example.com"),
    (r"https://(www\.)?example\.com|https://.*", ""),
    # The regex names https, and grants plain http too.
    (r"(https|[a-z]{4})://app\.example\.com", "http://app.example.com"),
]


@pytest.mark.parametrize(("regex", "shape"), OVER_MATCHING)
def test_over_matching_regex_is_refused_with_a_real_example_and_a_fix(
    regex: str, shape: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        CORSPolicy(allow_origin_regex=regex)
    (problem,) = caught.value.problems
    assert problem.option == "allow_origin_regex"
    assert problem.message.startswith("over-matches: ")
    finding = check_origin_regex(re.compile(regex))
    assert finding is not None
    example = finding.example
    assert example is not None
    assert repr(example) in problem.message
    # The named origin is real: the regex grants it, and a browser could send it.
    assert re.fullmatch(regex, example)
    assert parse_request_origin(example) is not None
    assert shape in example
    # The fix, when it is a regex, is accepted.
    fixed = re.search(r"r'([^']+)'", problem.fix)
    if fixed is not None:
        CORSPolicy(allow_origin_regex=fixed.group(1))


def test_refusal_messages_name_the_bypass_shape_and_the_list_date() -> None:
    def message(regex: str) -> str:
        finding = check_origin_regex(re.compile(regex))
        assert finding is not None
        return finding.message + " | " + finding.fix

    unescaped = message(r"https://[a-z]+.example.com")
    assert "unescaped '.'" in unescaped
    assert r"r'https://([a-z0-9-]+\.)*example\.com'" in unescaped
    assert "'https://attackerexample.com'" in message(r"https://.*example\.com")
    assert "'https://example.com.attacker.test'" in message(r"https://example\.com.*")
    suffix = message(r"https://.*\.run\.app")
    assert "'run.app' is a public suffix" in suffix
    assert public_suffix_list_date() in suffix
    assert "https?://" in message(r"https?://.*\.com")
    assert "plain http where it names only https" in message(r"(https|[a-z]{4})://a\.example\.com")
    assert "IP addresses have no registrable domain" in message(r"http://192\.168\.1\.\d+")
    assert "'https://yourapp.vercel.app'" in message(r"https://myapp-.*\.vercel\.app")
    # Each top-level alternative names its own domains (Flask-CORS lists are joined so).
    joined = r"(?:.*\.example\.com)|(?:https://partner\.test)|(?:https://.*\.partner\.test)"
    assert check_origin_regex(re.compile(joined)) is None
    assert "'https://attacker.test'" in message(joined + "|(?:https://.*)")


ACCEPTED = [
    # Flask-CORS's documented style (any scheme), and the usual anchored forms.
    r".*\.example\.com",
    r"https://.*\.example\.com",
    r"^https://.*\.example\.com$",
    r"https?://([a-z0-9-]+\.)*example\.com",
    r"https://([a-z0-9-]+\.)*example\.com(:\d+)?",
    r"https://[a-z0-9-]{1,20}\.example\.io",
    r"https://(app|admin)\.example\.dev(:[0-9]+)?",
    r"https://example\.com",
    r"https://.*\.example\.co\.uk",
    r"https://([a-z]+)\.example\.com|https://([a-z]+)\.example\.org",
    r"(?i)HTTPS://.*\.EXAMPLE\.COM",
    r"https://(?!evil)[a-z]+\.example\.com",
    r"https://[a-z]+example\.com\.example\.com",  # odd, but inside example.com
    # Loopback and IP literals during development are legitimate.
    r"http://localhost:\d+",
    r"http://localhost(:\d+)?",
    r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?",
    r"http://.*\.localhost:\d+",
    r"http://127\.0\.0\.1:[0-9]{4}",
    # A name on a public suffix, spelled out exactly.
    r"https://myapp\.github\.io",
    r"https://(foo|bar)-preview\.vercel\.app",
    # Tolerated noise around the names.
    r"https://(foo|[a-z]+\.example)\.com",
]


@pytest.mark.parametrize("regex", ACCEPTED)
def test_normal_regexes_are_accepted(regex: str) -> None:
    assert check_origin_regex(re.compile(regex)) is None
    CORSPolicy(allow_origin_regex=regex, allow_credentials=True)


def test_verbose_and_joined_regexes_are_analysed_with_their_flags() -> None:
    verbose = re.compile(r"https:// [a-z]+ \.example\.com", re.VERBOSE)
    assert check_origin_regex(verbose) is None
    assert check_origin_regex(re.compile(r"https:// .* ", re.VERBOSE)) is not None


def test_regexes_too_complex_to_prove_are_refused() -> None:
    # A lookahead does restrict this one to example.com, but lookarounds are read as
    # "anything" and no origin the wider reading finds is confirmed: not provable.
    with pytest.raises(ConfigError, match="cannot be proven"):
        CORSPolicy(allow_origin_regex=r"https://(?=[a-z.]*\.example\.com$).*")
    # Lookarounds that only narrow an already safe regex are fine.
    assert check_origin_regex(re.compile(r"https://(?!admin\.)[a-z.]+\.example\.com")) is None
    huge = re.compile(r"(https://[a-z]{1,250}\.example\.com){1,250}")
    finding = check_origin_regex(huge)
    assert finding is not None
    assert "too complex" in finding.message


# --- subdomain patterns ------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix",
    [
        "github.io",
        "run.app",
        "compute.amazonaws.com",
        "myshopify.com",
        "trycloudflare.com",
        "ngrok.app",
        "duckdns.org",
        "co.il",
        "com.pl",
        "co.uk",
    ],
)
def test_subdomain_patterns_on_public_suffixes_are_refused(suffix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CORSPolicy(allow_origins=[f"https://*.{suffix}"])
    (problem,) = caught.value.problems
    assert "public suffix" in problem.message
    assert public_suffix_list_date() in problem.message
    assert f"'https://yourapp.{suffix}'" in problem.fix


@pytest.mark.parametrize(
    "pattern",
    [
        "https://*.example.com",
        "https://*.example.co.uk",
        "http://*.localhost:*",
        "https://*.me.github.io",
    ],
)
def test_subdomain_patterns_under_a_registrable_domain_are_accepted(pattern: str) -> None:
    CORSPolicy(allow_origins=[pattern], allow_credentials=True)


# --- the list is never needed per request --------------------------------------------------


def test_deciding_never_imports_the_public_suffix_list() -> None:
    script = textwrap.dedent(
        """
        import sys
        import crossorigin
        from crossorigin import CORSPolicy
        from crossorigin.asgi import CORSMiddleware
        from crossorigin.wsgi import CORSMiddleware as W
        assert "publicsuffixlist" not in sys.modules, "imported by crossorigin itself"
        exact = CORSPolicy(allow_origins=["https://a.example.com"], allow_methods="*")
        exact.decide("GET", "https://a.example.com")
        exact.decide("OPTIONS", "https://a.example.com", "PUT", "x-a")
        assert "publicsuffixlist" not in sys.modules, "imported for exact origins"
        patterned = CORSPolicy(
            allow_origins=["https://*.example.com"], allow_origin_regex=r"https://.*\\.example\\.org"
        )
        assert "publicsuffixlist" in sys.modules
        # From here on, any import of the list fails: decide() must not need it.
        sys.modules["publicsuffixlist"] = None
        for origin in ("https://a.example.com", "https://a.example.org", "https://x.run.app"):
            patterned.decide("GET", origin)
            patterned.decide("OPTIONS", origin, "GET")
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# --- the property --------------------------------------------------------------------------

SCHEMES = ["https://", "https?://", "http://", "(http|https)://", ".*", "[a-z]+://", ""]
PREFIXES = [
    "",
    ".*",
    ".*\\.",
    r"([a-z0-9-]+\.)*",
    r"[a-z]+",
    r"[a-z]+\.",
    r"\w+\.",
    "(app|api)\\.",
    "[a-z]",
    ".",
]
# (regex piece, the domains a matching host may end in, exact-only hosts)
# A host spelled out in full right after the scheme (no prefix) is named exactly, whatever
# it is: https://com is one origin the user wrote, not a pattern.
DOMAINS: list[tuple[str, set[str], set[str]]] = [
    (r"example\.com", {"example.com"}, set()),
    (r"example\.co\.uk", {"example.co.uk"}, set()),
    ("example.com", {"example.com"}, set()),
    (r"example\.(com|net)", {"example.com", "example.net"}, set()),
    ("com", set(), {"com"}),
    (r"co\.uk", set(), {"co.uk"}),
    (r"run\.app", set(), {"run.app"}),
    (r"github\.io", set(), {"github.io"}),
    ("localhost", {"localhost"}, set()),
    (r"127\.0\.0\.1", set(), {"127.0.0.1"}),
]
PORTS = ["", r"(:\d+)?", r":\d+", ":[0-9]{2,4}", ".*"]


@st.composite
def composed(draw: st.DrawFn) -> tuple[str, set[str], set[str]]:
    domain, domains, spelled = draw(st.sampled_from(DOMAINS))
    scheme, prefix = draw(st.sampled_from(SCHEMES)), draw(st.sampled_from(PREFIXES))
    hosts = spelled if prefix == "" and scheme.endswith("://") else set()
    return scheme + prefix + domain + draw(st.sampled_from(PORTS)), domains, hosts


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(case=composed(), data=st.data())
def test_accepted_regexes_only_match_origins_in_the_domains_they_name(
    case: tuple[str, set[str], set[str]], data: st.DataObject
) -> None:
    regex, domains, hosts = case
    accepted = check_origin_regex(re.compile(regex)) is None
    assume(accepted)
    origins = st.from_regex(regex, fullmatch=True, alphabet=st.sampled_from(ALPHABET))
    for _ in range(5):
        origin = data.draw(origins)
        parsed = parse_request_origin(origin)
        if parsed is None:
            continue  # a string no browser sends is never granted (the matcher parses first)
        host = parsed.host
        inside = host in hosts or any(host == d or host.endswith("." + d) for d in domains)
        assert inside, (regex, origin)
        if domains and host not in hosts and not host.endswith("localhost"):
            assert registrable_domain(host) in domains


@settings(max_examples=150, deadline=None)
@given(case=composed())
def test_refusals_always_name_an_origin_the_regex_really_grants(
    case: tuple[str, set[str], set[str]],
) -> None:
    regex = case[0]
    finding = check_origin_regex(re.compile(regex))
    if finding is not None and finding.example is not None:
        assert re.fullmatch(regex, finding.example)
        assert parse_request_origin(finding.example) is not None


def test_cli_version_shows_the_list_date(capsys: pytest.CaptureFixture[str]) -> None:
    from crossorigin import __version__
    from crossorigin.tools.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert (
        shown == f"crossorigin {__version__} (Public Suffix List of {public_suffix_list_date()})\n"
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", public_suffix_list_date())


REGEX_PIECES = st.sampled_from(
    [
        *"ab.*+?|()[]^$-:/{}0129dwsSDWhtpexmlco",
        r"\.",
        "https://",
        "example",
        r"\d",
        "(?i)",
        "(?=",
        "(?!",
        "(?<=a)",
        r"\1",
        "(?P<n>",
        "(?P=n)",
        "{2,5}",
        "[^a]",
        "[a-z]",
        "(?:",
        "*+",
    ]
)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(REGEX_PIECES, min_size=1, max_size=14))
def test_any_regex_is_judged_without_raising(pieces: list[str]) -> None:
    source = "".join(pieces)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like
            regex = re.compile(source)
    except re.error:
        assume(False)
        return
    finding = check_origin_regex(regex)
    if finding is not None and finding.example is not None:
        assert regex.fullmatch(finding.example)
        assert parse_request_origin(finding.example) is not None
