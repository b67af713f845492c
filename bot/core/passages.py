"""What goes with a question when the article is too long to inline: its best sentences, in their paragraphs.

Inlined, the model reads every sentence around the one that answers. Given bare candidates, it
reads a sentence cut from its paragraph ("He said it rose 5%": who, what?), and the answer it needs
may sit one sentence away from the best-ranked one. So the top candidates come with the sentences
beside them in their paragraphs, nearest first, up to a budget that bounds the question's tokens.
"""

from __future__ import annotations

from index.retrieve import Hit


def with_neighbours(ranked: list[Hit], top: int, budget: int) -> list[Hit]:
    """The best `top` hits and, up to `budget` sentences in all, their paragraph-mates nearest first.

    Ordered for reading: sentences in article order within a paragraph, and paragraphs by their best
    hit's rank *reversed*, the best last, nearest the reply. The 1.5B model mostly cites the last
    passage it read: on facqa-id dev as one long article, best first, it took 13 answers from a
    worse-ranked candidate where inlined it had answered right; best last lifted answer accuracy from
    0.23 to 0.34 with the top 3 alone, from 0.21 to 0.38 with their paragraphs (docs/how-it-answers.md,
    "Long articles").
    `ranked` must hold every sentence that may be added (the core ranks the whole article).
    """
    best = ranked[:top]
    chosen = {h.sentence.id: h for h in best}
    by_paragraph: dict[int, list[Hit]] = {}
    for hit in ranked:
        by_paragraph.setdefault(hit.sentence.paragraph, []).append(hit)
    # Each candidate's paragraph-mates by distance from it; a nearer sentence of a better hit first.
    mates = sorted(
        (
            (abs(mate.sentence.sentence - hit.sentence.sentence), rank, mate.sentence.sentence, mate)
            for rank, hit in enumerate(best)
            for mate in by_paragraph[hit.sentence.paragraph]
            if mate.sentence.id not in chosen
        ),
        key=lambda row: row[:3],
    )
    for _, _, _, mate in mates:
        if len(chosen) >= budget:
            break
        chosen.setdefault(mate.sentence.id, mate)
    paragraph_rank: dict[int, int] = {}
    for rank, hit in enumerate(best):
        paragraph_rank.setdefault(hit.sentence.paragraph, rank)
    return sorted(chosen.values(), key=lambda h: (-paragraph_rank[h.sentence.paragraph], h.sentence.sentence))
