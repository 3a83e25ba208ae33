"""Language identification on our short texts: lingua-language-detector next to py3langid, and the desk's own
``moderation.language.detect_language`` built on the one chosen.

    .venv/bin/python benchmarks/language_id.py [--per-set 1000] [--speed-n 2000] [--rounds 3] [--quick]

Texts, each labelled by the language its data set is in (../shared/data, test splits where there are any):
XLM-T UMSAB sentiment tweets (ar, de, en, es, fr, hi, it, pt), GermEval 2018 (de), ToLD-Br (pt), OffensEval
2020 (ar, da, el, tr) and X-Stance comments (de, fr), at most ``--per-set`` from each, in file order. XLM-T's
Hindi is romanised and code-mixed with English: neither detector knows romanised Hindi, so it is shown on its
own line and left out of the overall figures. Every detector sees each text after the desk's cleaning
(``moderation.language.clean``: URLs, @mentions and the data sets' ``@user``/``http`` placeholders removed).

Configurations: lingua with all its 75 languages and with the desk's set (``moderation.language.LANGUAGES``:
Perspective's 18 and a few more), each in high- and low-accuracy mode; py3langid with all its languages and
with the same set (``set_languages``). Accuracy is top-1 over every text (an answer of no language counts as
wrong); "< 40 chars" is over the texts shorter than 40 characters after cleaning. Speed: one text per call on
``--speed-n`` texts sampled across the sets, every configuration timed ``--rounds`` times round-robin in this
process, the best round counting. Memory and load time: each configuration in a fresh process, resident memory
above a bare interpreter after building the detector and answering every text once (lingua loads a language's
models when a text first needs them). Writes benchmarks/results/language_id.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from moderation.language import LANGUAGES, MIN_CONFIDENCE, MIN_LETTERS, clean, detect_languages  # noqa: E402
from moderation.training.multilingual_data import OFFENSEVAL_LANGUAGES, UMSAB_LANGUAGES  # noqa: E402

SHORT = 40
#: Left out of the overall figures: romanised, code-mixed Hindi no detector here knows.
APART = {("hi", "XLM-T")}
#: lingua's code where it differs from py3langid's (it knows Bokmål and Nynorsk, not Norwegian as one).
LINGUA = {"no": "nb"}
#: What ``moderation.language`` uses, chosen by this benchmark's figures.
CHOSEN = "langid-desk"
CONFIGS = ("lingua-all", "lingua-all-low", "lingua-desk", "lingua-desk-low", "langid-all", "langid-desk")


@dataclass(frozen=True)
class Sample:
    text: str
    language: str
    source: str


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--per-set", type=int, default=1000, help="texts at most from each data set and language")
    parser.add_argument("--speed-n", type=int, default=2000, help="texts timed per configuration")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds, round-robin; the best counts")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few texts, nothing written")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "language_id.md")
    parser.add_argument("--memory-of", choices=CONFIGS, help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args(argv)
    if args.quick:
        args.per_set, args.speed_n, args.rounds = 60, 200, 1
    return args


# The data ---------------------------------------------------------------------------------------------------


def _lines(path: Path) -> Iterator[str]:
    yield from (line.strip() for line in path.read_text(encoding="utf-8").splitlines())


def _tsv_column(path: Path, column: int, *, header: bool) -> Iterator[str]:
    rows = (line.split("\t") for line in path.read_text(encoding="utf-8").splitlines())
    if header:
        next(rows, None)
    yield from (row[column].strip() for row in rows if len(row) > column)


def _csv_column(path: Path, name: str) -> Iterator[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from (row[name].strip() for row in csv.DictReader(handle))


def _xstance(path: Path, language: str) -> Iterator[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["language"] == language:
            yield item["comment"].strip()


def load_samples(data_dir: Path, per_set: int) -> list[Sample]:
    """Up to ``per_set`` non-empty texts of every set and language, in file order."""
    sources: list[tuple[str, str, Callable[[], Iterator[str]]]] = []
    for code, folder in UMSAB_LANGUAGES.items():
        path = data_dir / "xlmt_umsab_sentiment" / folder / "test_text.txt"
        sources.append((code, "XLM-T", lambda path=path: _lines(path)))
    germeval = data_dir / "germeval2018" / "germeval2018.test.txt"
    sources.append(("de", "GermEval 2018", lambda: _tsv_column(germeval, 0, header=False)))
    told = data_dir / "told_br" / "splits_1annotator" / "ptbr_test_1annotator.csv"
    sources.append(("pt", "ToLD-Br", lambda: _csv_column(told, "text")))
    for code, folder in OFFENSEVAL_LANGUAGES.items():
        path = data_dir / "offenseval2020_multilingual" / folder / "test.tsv"
        sources.append((code, "OffensEval 2020", lambda path=path: _tsv_column(path, 1, header=True)))
    xstance = data_dir / "xstance_valid" / "valid.jsonl"
    for code in ("de", "fr"):
        sources.append((code, "X-Stance", lambda code=code: _xstance(xstance, code)))
    samples = []
    for code, source, read in sources:
        try:
            texts = [text for text in read() if text]
        except FileNotFoundError as missing:
            raise SystemExit(f"no data at {missing.filename} (clone the data beside this repository)") from None
        samples += [Sample(text, code, source) for text in texts[:per_set]]
    return samples


# The detectors ----------------------------------------------------------------------------------------------

Detect = Callable[[str], "tuple[str | None, float]"]


def build(config: str) -> Detect:
    """One configuration's top-1 answer for a cleaned text and its confidence (None: no language)."""
    if config.startswith("lingua"):
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        builder = (
            LanguageDetectorBuilder.from_all_languages()
            if "-all" in config
            else LanguageDetectorBuilder.from_iso_codes_639_1(
                *(getattr(IsoCode639_1, LINGUA.get(c, c).upper()) for c in LANGUAGES)
            )
        )
        if config.endswith("-low"):
            builder = builder.with_low_accuracy_mode()
        detector = builder.build()

        def lingua(text: str) -> tuple[str | None, float]:
            values = detector.compute_language_confidence_values(text)
            if not values or values[0].value <= 0:
                return None, 0.0
            code = values[0].language.iso_code_639_1.name.lower()
            return {v: k for k, v in LINGUA.items()}.get(code, code), values[0].value

        return lingua
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if config == "langid-desk":
        identifier.set_languages(LANGUAGES)

    def langid(text: str) -> tuple[str | None, float]:
        code, confidence = identifier.classify(text)
        return (None if code == "zxx" else code), confidence

    return langid


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_child(config: str, texts: list[str]) -> dict[str, float]:
    """Resident memory and load time of one configuration (run in a fresh process)."""
    bare = _rss_kib()
    start = time.perf_counter()
    detect = build(config)
    detect("Warm-up: one text so that the detector is ready.")
    loaded, load_s = _rss_kib(), time.perf_counter() - start
    for text in texts:
        detect(text)
    return {"loaded_mib": (loaded - bare) / 1024, "after_mib": (_rss_kib() - bare) / 1024, "load_s": load_s}


def _memory(config: str, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--memory-of", config, "--per-set", str(args.per_set)]
    command += ["--data-dir", str(args.data_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# Measuring --------------------------------------------------------------------------------------------------


def _accuracy(answers: list[str | None], samples: list[Sample], indexes: list[int]) -> float:
    return sum(answers[i] == samples[i].language for i in indexes) / len(indexes) if indexes else 0.0


def _speeds(detectors: dict[str, Detect], texts: list[str], rounds: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, detect in detectors.items():
            start = time.perf_counter()
            for text in texts:
                detect(text)
            rate = len(texts) / (time.perf_counter() - start)
            best[name] = max(best.get(name, 0.0), rate)
    return best


def _desk_speed(texts: list[str], rounds: int) -> dict[str, float]:
    """The library end to end: one text per call, and one list per call (lingua's parallel batch)."""
    best = {"single": 0.0, "batch": 0.0}
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            detect_languages([text])
        best["single"] = max(best["single"], len(texts) / (time.perf_counter() - start))
        start = time.perf_counter()
        detect_languages(texts)
        best["batch"] = max(best["batch"], len(texts) / (time.perf_counter() - start))
    return best


def _cpu() -> str:
    """``lscpu``'s model name, family and model, hypervisor and wide vector units, and the cores this process has."""
    info = dict(
        (key.strip(), value.strip())
        for key, _, value in (
            line.partition(":")
            for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
        )
    )
    flags = set(info.get("Flags", "").split())
    units = [name for name, flag in (("AVX-512", "avx512f"), ("AMX", "amx_tile")) if flag in flags]
    details = [f"family {info.get('CPU family', '?')} model {info.get('Model', '?')}"]
    details += [f"{info['Hypervisor vendor']} guest"] if info.get("Hypervisor vendor") else []
    details += [" and ".join(units)] if units else []
    cores = len(__import__("os").sched_getaffinity(0))
    return f"{info.get('Model name', '?')} ({', '.join(details)}), {cores} cores"


def _package(name: str) -> str:
    from importlib.metadata import version

    return f"{name} {version(name)}"


def run(args: argparse.Namespace) -> str:
    samples = load_samples(args.data_dir, args.per_set)
    cleaned = [clean(sample.text) for sample in samples]
    detectors = {config: build(config) for config in CONFIGS}
    raw = {config: [detect(text) for text in cleaned] for config, detect in detectors.items()}
    desk = detect_languages(cleaned)
    rng = random.Random(0)
    timed = rng.sample(cleaned, min(args.speed_n, len(cleaned)))
    speeds = _speeds(detectors, timed, args.rounds)
    desk_speed = _desk_speed(timed, args.rounds)
    memory = {config: _memory(config, args) for config in CONFIGS}
    return _report(args, samples, cleaned, raw, desk, speeds, desk_speed, memory)


def _report(
    args: argparse.Namespace,
    samples: list[Sample],
    cleaned: list[str],
    raw: dict[str, list[tuple[str | None, float]]],
    desk: list[Any],
    speeds: dict[str, float],
    desk_speed: dict[str, float],
    memory: dict[str, dict[str, float]],
) -> str:
    answers = {config: [code for code, _ in found] for config, found in raw.items()}
    counted = [i for i, s in enumerate(samples) if (s.language, s.source) not in APART]
    short = [i for i in counted if len(cleaned[i]) < SHORT]
    languages = sorted({samples[i].language for i in counted})
    by_language = {code: [i for i in counted if samples[i].language == code] for code in languages}
    overall = {
        c: {
            "micro": _accuracy(answers[c], samples, counted),
            "short": _accuracy(answers[c], samples, short),
            "macro": sum(_accuracy(answers[c], samples, by_language[code]) for code in languages) / len(languages),
        }
        for c in CONFIGS
    }
    lines = [
        "# Language identification",
        "",
        f"`{' '.join(['benchmarks/language_id.py', *sys.argv[1:]])}`"
        + f" on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {_cpu()}, "
        f"Python {platform.python_version()}, {_package('lingua-language-detector')}, {_package('py3langid')}.",
        "",
        f"{len(counted):,} texts in {len(languages)} languages (and {len(samples) - len(counted)} romanised Hindi "
        f"tweets apart), {len(short):,} of them under {SHORT} characters after cleaning. The desk's set: "
        f"{', '.join(LANGUAGES)} ({len(LANGUAGES)}). `-all`: every language the detector knows (lingua 75, "
        "py3langid 139); `-desk`: the desk's set; `-low`: lingua's low-accuracy mode.",
        "",
        "## Accuracy (top-1; no answer counts as wrong)",
        "",
        "| language | sources | n | " + " | ".join(CONFIGS) + " |",
        "|---|---|---|" + "---|" * len(CONFIGS),
    ]

    def row(label: str, sources: str, indexes: list[int]) -> str:
        cells = [f"{_accuracy(answers[c], samples, indexes):.1%}" for c in CONFIGS]
        return f"| {label} | {sources} | {len(indexes):,} | " + " | ".join(cells) + " |"

    for code, indexes in by_language.items():
        lines.append(row(code, ", ".join(dict.fromkeys(samples[i].source for i in indexes)), indexes))
    for name, label, n in (("micro", "all (micro)", len(counted)), ("short", f"under {SHORT} chars", len(short))):
        lines.append(f"| **{label}** | | {n:,} | " + " | ".join(f"{overall[c][name]:.1%}" for c in CONFIGS) + " |")
    lines.append(
        "| **all (macro over languages)** | | | " + " | ".join(f"{overall[c]['macro']:.1%}" for c in CONFIGS) + " |"
    )
    apart = [i for i, s in enumerate(samples) if (s.language, s.source) in APART]
    if apart:
        lines.append(row("hi, romanised (apart)", "XLM-T", apart))
    lines += [
        "",
        "## Speed and memory",
        "",
        f"One text per call on {args.speed_n:,} texts, best of {args.rounds} rounds run round-robin in one process: "
        "absolute rates move with whatever else the machine runs, the ratio to lingua-desk much less. Memory: "
        "resident memory above a bare interpreter, each configuration in a fresh process.",
        "",
    ]
    reference = speeds["lingua-desk"]
    lines += [
        "| configuration | texts/s, one per call | vs lingua-desk | load s | MiB loaded | MiB after all texts |",
        "|---|---|---|---|---|---|",
    ]
    for config in CONFIGS:
        m = memory[config]
        lines.append(
            f"| {config} | {speeds[config]:,.0f} | {speeds[config] / reference:.2f} | {m['load_s']:.2f} | "
            f"{m['loaded_mib']:.0f} | {m['after_mib']:.0f} |"
        )
    lines += _choice(overall, speeds, memory)
    lines += _floors(samples, cleaned, raw, counted, short)
    lines += _desk_section(samples, desk, counted, short, desk_speed)
    lines += ["", *_wrong(samples, answers, counted)]
    return "\n".join(lines) + "\n"


def _installed_mib(name: str) -> float:
    from importlib.metadata import distribution

    return sum(f.size or 0 for f in distribution(name).files or []) / 2**20


def _choice(
    overall: dict[str, dict[str, float]], speeds: dict[str, float], memory: dict[str, dict[str, float]]
) -> list[str]:
    """Why ``moderation.language`` uses :data:`CHOSEN`, from this run's figures."""
    ours, other = overall[CHOSEN], overall["lingua-desk"]
    low = overall["lingua-desk-low"]
    sizes = {name: _installed_mib(name) for name in ("py3langid", "lingua-language-detector")}
    return [
        "",
        "## The choice",
        "",
        f"`moderation.language` uses **{CHOSEN}**: py3langid restricted to the desk's set. Against lingua on the "
        f"same set (its most accurate setting here), it is right on {ours['micro']:.1%} of all texts (lingua "
        f"{other['micro']:.1%}) and on {ours['short']:.1%} of those under {SHORT} characters "
        f"({other['short']:.1%}), answers {speeds[CHOSEN] / speeds['lingua-desk']:.1f} times as many texts a "
        f"second, loads in {memory[CHOSEN]['load_s']:.1f} s ({memory['lingua-desk']['load_s']:.1f} s) and holds "
        f"{memory[CHOSEN]['after_mib']:.0f} MiB ({memory['lingua-desk']['after_mib']:.0f} MiB). Installed, "
        f"py3langid is {sizes['py3langid']:.0f} MiB and lingua {sizes['lingua-language-detector']:.0f} MiB. "
        "lingua's low-accuracy mode is fast too, but right on only "
        f"{low['short']:.1%} of the short texts.",
        "",
        "Restricting a detector to the languages a desk serves is what makes it accurate on short texts: with "
        f"every language it knows, py3langid is right on {overall['langid-all']['short']:.1%} of them and lingua "
        f"on {overall['lingua-all']['short']:.1%}. The price is that text in a language outside the set is "
        "given the nearest one in it, which the confidence floor below catches only in part.",
    ]


def _floors(
    samples: list[Sample],
    cleaned: list[str],
    raw: dict[str, list[tuple[str | None, float]]],
    counted: list[int],
    short: list[int],
) -> list[str]:
    """For both detectors on the desk's set: how answering only above a confidence floor trades answers for
    right answers (texts with fewer than ``MIN_LETTERS`` letters never answered)."""
    lines = [
        "",
        "## Confidence floors (the desk's set; no answer below the floor)",
        "",
        "| detector | floor | answered | right when answered | answered, < 40 chars | right when answered, < 40 |",
        "|---|---|---|---|---|---|",
    ]
    for config in ("lingua-desk", "langid-desk"):
        for floor in (0.0, 0.3, 0.5, 0.7, 0.9):

            def answered(indexes: list[int], config: str = config, floor: float = floor) -> list[int]:
                return [
                    i
                    for i in indexes
                    if raw[config][i][0] is not None
                    and raw[config][i][1] >= floor
                    and sum(char.isalpha() for char in cleaned[i]) >= MIN_LETTERS
                ]

            cells = []
            for indexes in (counted, short):
                kept = answered(indexes)
                right = sum(raw[config][i][0] == samples[i].language for i in kept)
                cells += [f"{len(kept) / len(indexes):.1%}", f"{right / len(kept) if kept else 0.0:.1%}"]
            lines.append(f"| {config} | {floor} | " + " | ".join(cells) + " |")
    return lines


def _desk_section(
    samples: list[Sample],
    desk: list[Any],
    counted: list[int],
    short: list[int],
    speed: dict[str, float],
) -> list[str]:
    """``detect_language`` itself: how often it answers, and how often its answer is right."""

    def figures(indexes: list[int]) -> str:
        answered = [i for i in indexes if desk[i] is not None]
        right = sum(desk[i].language == samples[i].language for i in answered)
        share = len(answered) / len(indexes) if indexes else 0.0
        precision = right / len(answered) if answered else 0.0
        return f"{share:.1%} | {precision:.1%} | {right / len(indexes) if indexes else 0.0:.1%}"

    lines = [
        "",
        "## The desk's `detect_language` (the chosen detector, its set, and no answer below the confidence floor)",
        "",
        f"Answers only when the cleaned text has letters and the top language's confidence is at least "
        f"{MIN_CONFIDENCE}; otherwise no language.",
        "",
        "| texts | n | answered | right when answered | right of all |",
        "|---|---|---|---|---|",
        f"| all | {len(counted):,} | {figures(counted)} |",
        f"| under {SHORT} chars | {len(short):,} | {figures(short)} |",
    ]
    for code in sorted({samples[i].language for i in counted}):
        indexes = [i for i in counted if samples[i].language == code]
        lines.append(f"| {code} | {len(indexes):,} | {figures(indexes)} |")
    lines += [
        "",
        f"Speed through the library (cleaning included): {speed['single']:,.0f} texts/s one per call, "
        f"{speed['batch']:,.0f} texts/s as one list (`detect_languages`).",
    ]
    return lines


def _wrong(samples: list[Sample], answers: dict[str, list[str | None]], counted: list[int]) -> list[str]:
    """The most frequent wrong top-1 answers of both detectors on the desk's set, to read the errors."""
    lines = []
    for config in ("lingua-desk", "langid-desk"):
        wrong = Counter(
            (samples[i].language, answers[config][i] or "none")
            for i in counted
            if answers[config][i] != samples[i].language
        )
        pairs = ", ".join(f"{gold}→{found} {count}" for (gold, found), count in wrong.most_common(12))
        lines.append(f"- Most frequent errors of {config} (gold→answer count): {pairs}.")
    return lines


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    if args.memory_of:
        texts = [clean(sample.text) for sample in load_samples(args.data_dir, args.per_set)]
        print(json.dumps(memory_child(args.memory_of, texts)))
        return
    started = time.perf_counter()
    text = run(args)
    text += f"\nRun time {(time.perf_counter() - started) / 60:.1f} min.\n"
    print(text)
    if not args.quick:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
