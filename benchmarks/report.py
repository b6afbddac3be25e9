"""``python -m benchmarks.report``: README-ready markdown and the plot, from the JSON.

Reads ``benchmarks/results/latest.json`` (and ``e2e-latest.json`` when present), prints
markdown tables (machine, versions and date included) and saves a bar chart of the
overhead per scenario to ``docs/benchmarks.png``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .run import RESULTS_DIR

DOCS = Path(__file__).resolve().parent.parent / "docs"
FLOODS = ("acrh-commas", "acrh-names")


def _fmt_us(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "—"
    sign = "+" if signed and value >= 0 else ("−" if value < 0 else "")
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{sign}{magnitude / 1000:.1f} ms"
    if magnitude >= 100:
        return f"{sign}{magnitude:.0f} µs"
    return f"{sign}{magnitude:.2f} µs" if magnitude < 10 else f"{sign}{magnitude:.1f} µs"


def _cell(group: dict[str, Any], scenario: str, name: str) -> dict[str, Any]:
    cell: dict[str, Any] = group["scenarios"][scenario]["cells"].get(name, {})
    return cell


def _label(contender: dict[str, Any]) -> str:
    label: str = contender.get("label") or contender["name"]
    return label


def _rows(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(group, contender) for every non-bare, non-floor contender, in the run's order."""
    return [
        (group_name, contender)
        for group_name, group in results["groups"].items()
        for contender in group["contenders"]
        if contender["role"] in ("crossorigin", "incumbent")
    ]


def meta_line(meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return (
        f"Measured {meta['date'][:10]} on {meta['cpu']} ({meta['cores']} cores), "
        f"{meta['python']}, {meta['platform']}; {versions}."
    )


def overhead_table(results: dict[str, Any]) -> str:
    """One row per contender, one column per scenario (crossorigin's rows in bold)."""
    first_group = next(iter(results["groups"].values()))
    keys = list(first_group["scenarios"])
    titles = [first_group["scenarios"][key]["title"] for key in keys]
    lines = [
        "| Interface | Contender | " + " | ".join(titles) + " |",
        "|---|---|" + "---:|" * len(keys),
    ]
    for group_name, contender in _rows(results):
        group = results["groups"][group_name]
        cells = []
        for key in keys:
            cell = _cell(group, key, contender["name"])
            if cell.get("check") == "unsupported":
                cells.append("n/a")
            else:
                cells.append(_fmt_us(cell.get("overhead_us")))
        name = _label(contender)
        if contender["role"] == "crossorigin":
            name = f"**{name}**"
        lines.append(f"| {group_name} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bare_table(results: dict[str, Any]) -> str:
    # The statistic the overheads were taken from (the run's --statistic).
    statistic = results["meta"].get("settings", {}).get("statistic", "median")
    lines = [f"| Bare app | µs per request (no Origin, {statistic}) |", "|---|---:|"]
    for group in results["groups"].values():
        for contender in group["contenders"]:
            if contender["role"] == "bare":
                cell = _cell(group, "no-origin", contender["name"])
                value = _fmt_us(cell.get(f"{statistic}_us"), False)
                lines.append(f"| {contender['name']} | {value} |")
    return "\n".join(lines)


def ratio_table(results: dict[str, Any]) -> str:
    rows = []
    for group in results["groups"].values():
        ours = [c for c in group["contenders"] if c["role"] == "crossorigin"]
        incumbents = [c for c in group["contenders"] if c["role"] == "incumbent"]
        for mine in ours:
            for contender in incumbents:
                cells = []
                for key, row in group["scenarios"].items():
                    if key in FLOODS:
                        continue
                    own = row["cells"][mine["name"]].get("overhead_us")
                    theirs = row["cells"][contender["name"]].get("overhead_us")
                    if own is None or theirs is None:
                        cells.append("n/a")
                    elif own <= 0:
                        cells.append("∞ (faster than bare)" if theirs > 0 else "—")
                    elif theirs <= 0:
                        cells.append("< 0")
                    else:
                        cells.append(f"{theirs / own:.1f}×")
                rows.append(
                    f"| {contender['name']} vs {_label(mine)} | " + " | ".join(cells) + " |"
                )
    first = next(iter(results["groups"].values()))
    titles = [row["title"] for key, row in first["scenarios"].items() if key not in FLOODS]
    header = "| Incumbent's overhead ÷ crossorigin's | " + " | ".join(titles) + " |"
    return "\n".join([header, "|---|" + "---:|" * len(titles), *rows])


def scaling_table(results: dict[str, Any]) -> str:
    scaling = results.get("scaling")
    if not scaling:
        return ""
    lines = [
        "| Configured origins | crossorigin allowed | crossorigin refused "
        "| Starlette allowed | Starlette refused |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in scaling["rows"]:
        cells = [
            _fmt_us(row.get(name, {}).get("overhead_us"))
            for name in (
                "crossorigin allowed",
                "crossorigin refused",
                "starlette allowed",
                "starlette refused",
            )
        ]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def adversarial_text(results: dict[str, Any]) -> str:
    data = results.get("adversarial")
    if not data:
        return ""
    out = []
    for key, figures in data["decide"].items():
        what = "1 MB of commas" if key == "acrh-commas" else "10 000 names"
        out.append(
            f"- `Access-Control-Request-Headers` of {what}: `decide()` takes "
            f"{figures['median_ms']:.2f} ms (target < {data['target_ms']:g} ms)."
        )
    peaks = data["peak_bytes"]
    ours = peaks.get("crossorigin.asgi", {})
    if ours:
        out.append(
            "- Peak memory while answering one such preflight (ASGI): "
            + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in ours.items())
            + f"; retained after 100 distinct floods: "
            f"{data['retained_bytes_after_100_distinct_floods']} bytes."
        )
    return "\n".join(out)


def e2e_table(e2e: dict[str, Any]) -> str:
    apps = ("bare", "crossorigin", "starlette", "floor")
    titles = {
        "simple-get": "allowed simple GET",
        "no-origin": "no Origin",
        "preflight": "allowed preflight",
    }
    lines = [
        "| Scenario | bare app | crossorigin | Starlette CORSMiddleware | floor (hand-written) |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, runs in e2e["runs"].items():
        bare = runs.get("bare", {}).get("requests_per_s")
        cells = []
        for app in apps:
            figures = runs.get(app)
            if figures is None:
                cells.append("n/a")
                continue
            rate = figures["requests_per_s"]
            cells.append(f"{rate:,.0f} ({rate / bare:.0%})" if bare else f"{rate:,.0f}")
        lines.append(f"| {titles.get(key, key)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(results: dict[str, Any], e2e: dict[str, Any] | None) -> str:
    parts = [
        "### Overhead over the bare app (µs per request, lower is better)",
        "",
        overhead_table(results),
        "",
        "Negative: crossorigin answers the preflight itself, without running the app (or the "
        "framework, for the middleware wrapped around it). "
        "n/a: the library cannot do it (asgi-cors sends no `Access-Control-Allow-Credentials`).",
        "",
        ratio_table(results),
        "",
        bare_table(results),
    ]
    scaling = scaling_table(results)
    if scaling:
        parts += ["", "### Cost vs number of configured origins (ASGI overhead)", "", scaling]
    adversarial = adversarial_text(results)
    if adversarial:
        parts += ["", "### Hostile input", "", adversarial]
    if e2e:
        parts += [
            "",
            "### End to end (uvicorn + httptools, 1 worker, wrk on 127.0.0.1; requests/s)",
            "",
            e2e_table(e2e),
            "",
            meta_line(e2e["meta"]) + f" {e2e['meta'].get('load', '')}.",
        ]
    parts += ["", meta_line(results["meta"])]
    return "\n".join(parts)


def plot(results: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(results["groups"].items())
    figure, axes = plt.subplots(
        len(groups) + 1, 1, figsize=(11, 3.2 * (len(groups) + 1)), constrained_layout=True
    )
    colours = {"crossorigin": "#1b9e77", "incumbent": "#d95f02", "floor": "#7570b3"}
    for axis, (name, group) in zip(axes, groups, strict=False):
        keys = [k for k in group["scenarios"] if k not in FLOODS]
        contenders = [c for c in group["contenders"] if c["role"] != "bare"]
        ours = [c["name"] for c in contenders if c["role"] == "crossorigin"] or [""]
        width = 0.8 / max(1, len(contenders))
        for index, contender in enumerate(contenders):
            values = [
                _cell(group, key, contender["name"]).get("overhead_us", float("nan"))
                for key in keys
            ]
            positions = [k + index * width for k in range(len(keys))]
            colour = colours[contender["role"]]
            # A group's second crossorigin contender (the generic middleware wrapped around
            # the framework) in a lighter shade than its integration.
            second = contender["role"] == "crossorigin" and contender["name"] != ours[0]
            alpha = 0.55 if second else (1.0 if index < 3 else 0.6)
            axis.bar(
                positions,
                values,
                width,
                label=contender["name"],
                color=colour,
                alpha=alpha,
                hatch="//" if contender["role"] == "incumbent" and index > 1 else None,
            )
        axis.set_xticks([k + 0.4 - width / 2 for k in range(len(keys))])
        axis.set_xticklabels([group["scenarios"][k]["title"] for k in keys], fontsize=8)
        axis.axhline(0, color="black", linewidth=0.6)
        axis.set_ylabel("overhead (µs)")
        axis.set_title(f"{name}: overhead over the bare app per request")
        axis.legend(fontsize=8)
    flood_axis = axes[-1]
    names: list[str] = []
    flood_ms: list[float] = []
    ours_flags: list[bool] = []
    for _, group in groups:
        for contender in group["contenders"]:
            if contender["role"] in ("bare", "floor"):
                continue
            for key in FLOODS:
                cell = _cell(group, key, contender["name"])
                if "median_us" in cell:
                    names.append(
                        f"{_label(contender)}\n{'commas' if key == FLOODS[0] else 'names'}"
                    )
                    flood_ms.append(cell["median_us"] / 1000)
                    ours_flags.append(contender["role"] == "crossorigin")
    bars = flood_axis.bar(range(len(flood_ms)), flood_ms, color="#888888")
    for bar, mine in zip(bars, ours_flags, strict=True):
        if mine:
            bar.set_color("#1b9e77")
    flood_axis.set_yscale("log")
    flood_axis.set_xticks(range(len(flood_ms)))
    flood_axis.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    flood_axis.set_ylabel("ms per preflight (log)")
    flood_axis.set_title("Hostile Access-Control-Request-Headers: 1 MB of commas / 10 000 names")
    figure.suptitle(
        f"crossorigin benchmarks, {results['meta']['date'][:10]}, {results['meta']['cpu']}"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("--input", type=Path, default=RESULTS_DIR / "latest.json")
    parser.add_argument("--e2e", type=Path, default=RESULTS_DIR / "e2e-latest.json")
    parser.add_argument("--plot", type=Path, default=DOCS / "benchmarks.png")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    results = json.loads(args.input.read_text())
    e2e = json.loads(args.e2e.read_text()) if args.e2e.exists() else None
    print(markdown(results, e2e))
    if not args.no_plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
