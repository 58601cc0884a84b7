"""Write a synthetic corpus of about N sentences (plain .txt documents) plus questions about it.

The text is generated from word lists, names and numbers with a fixed seed, so that index
builds and queries can be benchmarked at any size without shipping data:

    python scripts/make_synthetic_corpus.py /tmp/synth-10k --sentences 10000

writes /tmp/synth-10k/doc-00000.txt ... (50 sentences each, under a few section headings)
and /tmp/synth-10k/questions.jsonl (one question per line, with the answer it should get).
Nothing here is meant to be committed output; it is regenerated on demand by `qa bench`.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

FIRST = ("Ada Bruno Clara Dmitri Elena Farid Greta Hiro Ines Jonas Kofi Lena Mateo Nadia Omar "
         "Priya Quentin Rosa Sven Tala Umar Vera Wen Ximena Yusuf Zofia").split()
LAST = ("Abara Berg Castillo Dufour Eriksen Fontaine Gallo Haddad Ivanova Jensen Kowalski "
        "Lindqvist Moreau Nakamura Okafor Petrov Quiroga Rossi Sato Tanaka Uribe Varga Weber "
        "Xu Yilmaz Zhang").split()
CITIES = ("Aberdeen Bergen Cordoba Dakar Eindhoven Fukuoka Gdansk Halifax Izmir Jaipur Kaunas "
          "Leipzig Mombasa Nantes Oulu Porto Quito Rennes Salta Tartu Utrecht Valencia Windhoek "
          "Xiamen Yerevan Zagreb").split()
ADJ = ("northern coastal municipal regional independent cooperative national experimental "
       "historic private public rural urban maritime alpine industrial").split()
ORG = ("observatory library brewery shipyard museum clinic orchestra laboratory bakery "
       "foundry archive vineyard hospital academy railway cooperative newspaper theatre").split()
GOODS = ("copper lithium timber wool coffee salt cotton tin barley glass steel paper "
         "turbines bicycles lenses pumps").split()
MONTHS = ("January February March April May June July August September October November "
          "December").split()
TOPICS = ("History Operations Finance People Outlook Archives Facilities Research").split()


def _name(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _org(rng):
    return f"{rng.choice(ADJ)} {rng.choice(ORG)} of {rng.choice(CITIES)}"


def _sentence(rng) -> tuple[str, dict | None]:
    """One sentence and, for some templates, a question it answers."""
    kind = rng.randrange(6)
    name, org, city = _name(rng), _org(rng), rng.choice(CITIES)
    year = rng.randrange(1850, 2025)
    if kind == 0:
        return (f"{name} founded the {org} in {year}.",
                {"question": f"Who founded the {org}?", "answer": name})
    if kind == 1:
        n = rng.randrange(12, 9000)
        return (f"The {org} employed {n:,} people in {year}.",
                {"question": f"How many people did the {org} employ in {year}?",
                 "answer": f"{n:,}"})
    if kind == 2:
        day = rng.randrange(1, 29)
        when = f"{rng.choice(MONTHS)} {day}, {year}"
        return (f"{name} was born in {city} on {when}.",
                {"question": f"When was {name} born in {city}?", "answer": when})
    if kind == 3:
        tons = rng.randrange(2, 800)
        good = rng.choice(GOODS)
        return (f"In {year} the port of {city} shipped {tons} thousand tonnes of {good} "
                f"to {rng.choice(CITIES)}.",
                {"question": f"How much {good} did the port of {city} ship in {year}?",
                 "answer": f"{tons} thousand tonnes"})
    if kind == 4:
        pct = rng.randrange(1, 95)
        return (f"Revenue of the {org} grew by {pct} percent after {name} became director.",
                None)
    return (f"According to {name}, the {org} moved its {rng.choice(GOODS)} stores to "
            f"{city} during the {rng.choice(ADJ)} season of {year}.", None)


def generate(out_dir: Path, sentences: int, seed: int = 13,
             per_document: int = 50) -> list[dict]:
    """Write about `sentences` sentences (headings count) into `out_dir`; return the questions."""
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    questions, written, doc = [], 0, 0
    while written < sentences:
        lines = [f"Report {doc} on the {_org(rng)}", ""]
        written += 1
        count = min(per_document, sentences - written)
        paragraph = []
        for i in range(count):
            if i and i % 12 == 0:
                lines += [" ".join(paragraph), "", f"{rng.choice(TOPICS)} {i // 12}", ""]
                paragraph = []
                written += 1
                continue
            text, question = _sentence(rng)
            paragraph.append(text)
            written += 1
            if question:
                questions.append({"doc_id": f"doc-{doc:05d}.txt", **question})
        if paragraph:
            lines.append(" ".join(paragraph))
        (out_dir / f"doc-{doc:05d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        doc += 1
    with open(out_dir / "questions.jsonl", "w", encoding="utf-8") as handle:
        for q in questions:
            handle.write(json.dumps(q) + "\n")
    return questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    questions = generate(args.out_dir, args.sentences, args.seed)
    print(f"wrote about {args.sentences} sentences and {len(questions)} questions "
          f"to {args.out_dir}")


if __name__ == "__main__":
    main()
