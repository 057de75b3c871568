"""Per-language stop words for the Gopher stop-word rule ("has at least N of these words").

English is Gopher's own list (the one datatrove uses). The others are a few of the most frequent
function words of each language, in the form the language's word splitter produces: whole words for
space-delimited languages, jieba words for Chinese, single characters for Japanese (character units).
Matching is case-sensitive, as in Gopher/datatrove.
"""
from __future__ import annotations

STOP_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("the", "be", "to", "of", "and", "that", "have", "with"),
    "de": ("der", "die", "und", "in", "den", "von", "zu", "das", "mit", "sich", "des", "auf", "für", "ist",
           "im", "dem", "nicht", "ein", "eine", "als", "auch", "es", "an", "werden", "aus", "er", "hat", "dass"),
    "fr": ("de", "la", "le", "et", "les", "des", "en", "un", "du", "une", "que", "est", "pour", "qui", "dans",
           "par", "pas", "au", "sur", "avec", "il", "ne", "se", "plus"),
    "es": ("de", "la", "que", "el", "en", "y", "a", "los", "se", "del", "las", "un", "por", "con", "no", "una",
           "su", "para", "es", "al", "lo", "como"),
    "it": ("di", "e", "il", "la", "che", "in", "a", "per", "un", "del", "non", "una", "le", "si", "con", "della",
           "sono", "i", "da", "al", "è"),
    "pt": ("de", "a", "o", "que", "e", "do", "da", "em", "um", "para", "é", "com", "não", "uma", "os", "no",
           "se", "na", "por", "mais", "as", "dos"),
    "nl": ("de", "en", "van", "het", "een", "in", "is", "dat", "op", "te", "zijn", "met", "voor", "niet", "aan",
           "er", "die", "ook", "als", "bij"),
    "pl": ("i", "w", "z", "na", "się", "nie", "do", "to", "że", "jest", "o", "jak", "a", "po", "co", "od",
           "przez", "dla", "za", "jego"),
    "ru": ("и", "в", "не", "на", "что", "с", "по", "как", "это", "он", "к", "из", "у", "о", "за", "от", "то",
           "для", "так", "же"),
    "zh": ("的", "了", "是", "在", "和", "有", "我", "不", "也", "就", "这", "都", "人", "与", "中", "对", "为",
           "上", "他", "个", "等", "将"),
    "ja": ("の", "に", "は", "を", "た", "が", "で", "て", "と", "し", "も", "な", "か", "る", "い"),
}


def stop_words_for(language: str) -> tuple[str, ...] | None:
    """The language's stop words, or None when there is no list (the rule is then not applied)."""
    return STOP_WORDS.get((language or "").lower().split("-")[0].split("_")[0])
