"""evaluation.verifier's fitted models, on synthetic proposals whose hidden state says what P(yes) does not."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from evaluation.verifier import fit, is_right, out_of_fold


def _proposals(count: int, seed: int) -> list[dict]:
    """Right and wrong proposals alike in every signal (P(yes) is noise); only the state's first number differs."""
    rng = np.random.default_rng(seed)
    records = []
    for n in range(count):
        right = n % 2 == 0
        state = rng.normal(size=16)
        state[0] += 1.5 if right else -1.5
        records.append(
            {
                "id": f"q{n}",
                "doc": f"d{n // 2 % 10}",  # each article has right and wrong proposals
                "answerable": True,
                "gold": ["Stargate"],
                "support": {
                    "answer": "Stargate" if right else "Azure",
                    "sentence_text": "Stargate" if right else "Azure",
                    "verified": float(rng.uniform()),
                    "answer_logprob": -0.5,
                    "coverage": 0.5,
                    "rank": 1,
                    "missing_specifics": [],
                    "state": tuple(float(x) for x in state),
                },
            }
        )
    return records


def _auc(model, records):
    scores = [model.score(_signals(r), r["support"]["state"]) for r in records]
    return roc_auc_score([is_right(r) for r in records], scores)


def _signals(record: dict) -> list[float]:
    from evaluation.verifier import features_of

    return features_of(record)


def test_a_probe_reads_the_state_on_proposals_it_has_not_seen():
    learnt, unseen = _proposals(200, seed=1), _proposals(100, seed=2)
    probe = fit(learnt, with_state=True, llm_sha256="ab" * 32)
    assert probe.reads_state and len(probe.state_weights) == 16 and probe.llm_sha256 == "ab" * 32
    assert _auc(probe, unseen) > 0.9
    assert _auc(fit(learnt), unseen) < 0.7  # the signals alone: P(yes) is noise here


def test_the_grouped_held_out_scores_come_from_models_that_never_saw_the_article():
    runs = {"dev": _proposals(200, seed=3)}
    labels = [is_right(r) for r in runs["dev"]]
    assert roc_auc_score(labels, out_of_fold(runs, with_state=True)["dev"]) > 0.9
    assert roc_auc_score(labels, out_of_fold(runs)["dev"]) < 0.7
