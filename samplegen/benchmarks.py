"""A small made-up evaluation set for the demo: reading-comprehension items (English and Chinese) and
HumanEval-style code problems, written here by hand so that no generated page shares their wording
by chance. The sample crawl quotes some of them (`crawl.py`, category `benchmark_quote`) and a demo
repository holds one solution (`code_repos.py`), so the demo's decontam and code stages have something
to find. `write(kind, path)` writes one set as JSON lines.
"""
from __future__ import annotations

import json
from pathlib import Path

QA = [
    {"id": "qa-0", "question": "Why was the Lantern Bridge of Eastmere closed in the winter of 1911?",
     "answer": "The Lantern Bridge of Eastmere was closed in the winter of 1911 because ice floes from the upper "
               "lake had cracked two of its oak piers, and the town engineer Miriam Castell refused to reopen it "
               "until the piers were rebuilt in granite hauled by sledge from the Corrow quarry, a job that took "
               "eleven weeks and cost the parish nearly all of its road fund for the following year."},
    {"id": "qa-1", "question": "How did the glassblowers of Ternholt keep their furnaces burning?",
     "answer": "The glassblowers of Ternholt kept their furnaces burning through the night by taking turns in "
               "three watches, each led by an apprentice who fed beech charcoal into the firebox every quarter of "
               "an hour and rang a small brass bell whenever the flame turned from white to orange, which warned "
               "the master that the melt was cooling and the batch of green bottle glass might be spoiled."},
    {"id": "qa-2", "question": "What did the survey of the Haldane marsh find?",
     "answer": "The survey of the Haldane marsh found that the reed beds had spread nearly four hundred metres "
               "toward the sea since the drainage ditches were abandoned, that bitterns were nesting there for "
               "the first time in living memory, and that the old causeway built by the salt workers was now "
               "almost entirely buried beneath a thick layer of peat and silt."},
    {"id": "qa-3", "question": "Who founded the lending library at Pellworth and how did it work?",
     "answer": "The lending library at Pellworth was founded by the retired ship's surgeon Tobias Wren, who left "
               "his six hundred books to the village on condition that anyone could borrow two volumes at a time "
               "for a fortnight, paying a single farthing that went toward candles for the reading room above "
               "the bakery where the shelves stood."},
    {"id": "qa-4", "question": "栖霞渡口的石灯塔是怎样建成的？",
     "answer": "栖霞渡口的石灯塔建于清光绪年间，当地船帮因为夜里常有货船在浅滩搁浅，便集资请来温州的石匠，用青石一层层垒成"
               "八角形的塔身，塔顶放一盏用菜油点燃的铜灯，由渡口的老艄公每晚亲自上去添油剪芯，一守就是三十多年。"},
    {"id": "qa-5", "question": "云溪村的竹编手艺为什么能流传下来？",
     "answer": "云溪村的竹编手艺能流传下来，是因为村里的老人每年冬天农闲时都会在祠堂里开班，手把手地教年轻人破篾、刮青和"
               "编织花样，学成的人要先编一只送给村里的孤寡老人，合格以后才能把自己的竹篮拿到镇上的集市去卖。"},
]

CODE = [
    {"task_id": "DemoEval/0",
     "prompt": 'def running_peaks(values: list[int]) -> list[int]:\n    """Return, for every position, the largest '
               'value seen so far.\n    >>> running_peaks([3, 1, 4, 1, 5])\n    [3, 3, 4, 4, 5]\n    """\n',
     "canonical_solution": "    peaks = []\n    best = None\n    for value in values:\n        if best is None or value > best:\n"
                           "            best = value\n        peaks.append(best)\n    return peaks\n"},
    {"task_id": "DemoEval/1",
     "prompt": 'def balanced_brackets(text: str) -> bool:\n    """Tell whether every opening bracket in text is closed '
               'by the matching closing bracket in the right order.\n    >>> balanced_brackets("([]{})")\n    True\n'
               '    >>> balanced_brackets("([)]")\n    False\n    """\n',
     "canonical_solution": "    pairs = {')': '(', ']': '[', '}': '{'}\n    stack = []\n    for ch in text:\n"
                           "        if ch in '([{':\n            stack.append(ch)\n        elif ch in pairs:\n"
                           "            if not stack or stack.pop() != pairs[ch]:\n                return False\n"
                           "    return not stack\n"},
    {"task_id": "DemoEval/2",
     "prompt": 'def rotate_words(sentence: str, k: int) -> str:\n    """Move the last k words of the sentence to its '
               'front, keeping single spaces between words.\n    >>> rotate_words("one two three four", 1)\n'
               '    \'four one two three\'\n    """\n',
     "canonical_solution": "    words = sentence.split()\n    if not words:\n        return ''\n    k = k % len(words)\n"
                           "    return ' '.join(words[-k:] + words[:-k]) if k else ' '.join(words)\n"},
]

SETS = {"qa": QA, "code": CODE}


def code_solution(i: int) -> str:
    """Problem i's prompt and canonical solution: a whole function, as a repository or a blog would hold it."""
    return CODE[i]["prompt"] + CODE[i]["canonical_solution"]


def write(kind: str, path: str | Path) -> Path:
    """Write the `qa` or `code` set as JSON lines at path (folders created)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in SETS[kind]), encoding="utf-8")
    return p
