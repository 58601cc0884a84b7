"""Does a reader tell answerable questions from near-misses? A probe on held-out training
articles, the window given (the answer's sentence and its neighbours): 500 answerable
questions, their swaps within the window and their article-wide swaps (qa/training_data.py).
"null wins": the window's "no answer" score beats its best span; AUC: how well best span
minus "no answer" tells the answerable questions from each kind of swap.

    .venv/bin/python scripts/probe_near_misses.py [WEIGHTS.npz]   # default: the shipped ones
"""
import sys, json, random
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from pathlib import Path
import numpy as np
from qa.reader_model import READER_WEIGHTS, TorchReaderModel
from qa.training_data import (read_squad, held_out, swap_specific, pool_of, article_pool,
                              answer_sentences, sentence_of)
from qa.evaluation import f1_score
weights = Path(sys.argv[1]) if len(sys.argv) > 1 else READER_WEIGHTS
model = TorchReaderModel(weights=weights)
paragraphs = [p for p in read_squad(Path('../shared/squad/train.jsonl.gz')) if held_out(p.title)]
by_title = {}
for p in paragraphs: by_title.setdefault(p.title, []).append(p)
pools = {t: article_pool(ps) for t, ps in by_title.items()}
rng = random.Random(0)
qs = [(p, q) for p in paragraphs for q in p.qas if not q.get('is_impossible') and q['answers']]
rng.shuffle(qs)
def best(wl, text):
    s_ix = np.argsort(-wl.start)[:20]; e_ix = np.argsort(-wl.end)[:20]
    pairs = [(wl.start[s] + wl.end[e], s, e) for s in s_ix for e in e_ix if 0 <= e - s < 30]
    sc, s, e = max(pairs)
    return float(sc), text[wl.spans[s][0]:wl.spans[e][1]]
rows = {'answer': [], 'window_swapped': [], 'swapped': []}
for p, q in qs:
    if len(rows['answer']) >= 500: break
    a = q['answers'][0]; s = a['answer_start']; e = s + len(a['text'])
    if p.context[s:e] != a['text']: continue
    i = sentence_of(p, s); j = sentence_of(p, max(s, e - 1))
    lo, hi = max(0, i - 1), min(len(p.sentences) - 1, j + 1)
    win = p.context[p.sentences[lo][0]:p.sentences[hi][1]]
    ws = swap_specific(q['question'], answer_sentences(p, s, e), pool_of([win]), rng)
    sw = swap_specific(q['question'], win, pools[p.title], rng)
    texts = [('answer', q['question']), ('window_swapped', ws), ('swapped', sw)]
    for kind, text in texts:
        if text is None: continue
        wl = model.logits(text, [win])[0]
        sc, span = best(wl, win)
        r = {'margin': sc - wl.null}
        if kind == 'answer':
            r['f1'] = max(f1_score(span, x['text']) for x in q['answers'])
        rows[kind].append(r)
def auc(pos, neg):
    pos, neg = np.array(pos), np.array(neg)
    return float(((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()))
A = [r['margin'] for r in rows['answer']]
out = {'answerable': len(A), 'best_span_f1': float(np.mean([r['f1'] for r in rows['answer']])),
       'answerable_null_wins': float(np.mean(np.array(A) < 0))}
for k in ('window_swapped', 'swapped'):
    M = [r['margin'] for r in rows[k]]
    out[k] = {'n': len(M), 'null_wins': float(np.mean(np.array(M) < 0)), 'auc_vs_answerable': auc(A, M)}
print(weights.name, json.dumps(out), flush=True)
