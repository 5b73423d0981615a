#!/usr/bin/env python3
"""bpe_reference.py OUTDIR [GGUF_DUMP.json] — reference ids for tests/test_bpe_reference.c.

Builds byte-level BPE tokenizers with Hugging Face `tokenizers` (no
downloads): each family is trained on the same seeded corpus and saved into
OUTDIR/<family>/ (tokenizer.json, or vocab.json + merges.txt):
  gpt2        ByteLevel(regex), <|endoftext|>, no normalizer
  gpt2_vm     the same model as vocab.json + merges.txt (GPT2TokenizerFast)
  roberta     ByteLevel(add_prefix_space), NFC, <s> <pad> </s> <unk> <mask>
              (lstrip), RobertaProcessing
  roberta_vm  vocab.json + merges.txt read by RobertaTokenizerFast
  llama3      Split(Llama-3 regex) + ByteLevel(no regex), ignore_merges,
              TemplateProcessing "<|begin_of_text|> $A", a reserved token
  qwen2       Split(Qwen2 regex) + ByteLevel(no regex), NFC, chat tokens, a
              single_word+rstrip normalized added token
  smollm      Digits(individual) + ByteLevel(regex), NFKC
With GGUF_DUMP (tokens, token types, merges and the pre name of a GGUF,
written by the C test), also "gguf": the tokenizer llama.cpp's
tokenizer.ggml.* describes, built from those arrays.

Then encodes a varied text set (accents, CJK, emoji, numbers and long digit
runs, whitespace runs, code, special-token lookalikes, empty, odd Unicode)
plus seeded random strings, and writes OUTDIR/expected.json:
  {"families": [{"name", "dir"}], "cases": [{"tok", "text", "ids", "ids_sp",
   "dec", "dec_skip"}]}
ids: without specials; ids_sp: with the post-processor's; dec / dec_skip:
tokenizers' decode(ids_sp) keeping / skipping special tokens.
"""
import json
import os
import random
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

GPT2_RE = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
            r"|\s*[\r\n]+|\s+(?!\S)|\s+")

TEXTS = [
    "", " ", "  ", "\t", "\n", "\r\n", " \n ", "Hello world", "Hello  world", " Hello world ", "hello world   ",
    "The quick brown fox jumps over the lazy dog.", "I'm sure they'll say it's fine, we've done what'd you'd",
    "I'M SURE THEY'LL SAY IT'S FINE", "don’t use curly ’s", "naïve café résumé Ångström façade",
    "e\u0301 vs \u00e9 (decomposed vs composed)", "\uff21\uff22\uff23 fullwidth \ufb01 ligature \u2460 circled",
    "日本語のテキストです。中文文本。한국어 텍스트", "Ελληνικά και Русский текст", "مرحبا بالعالم", "שלום עולם",
    "emoji 😀👍🏽👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and ✨", "numbers 1 12 123 1234 12345 3.14159 -42 1e10 0x1F",
    "long digits 123456789012345678901234567890", "١٢٣ ४५६ ⅷ ½ ²", "tabs\tand\t\tmore\ttabs", "line one\nline two\n\n\nend",
    "trailing spaces    ", "    leading spaces", "mixed \t \n \r\n whitespace \u00a0nbsp \u3000ideo \u2003em",
    "nel\u0085char and line\u2028sep", "def foo(x):\n    return x**2 + 1  # comment\n",
    "for (int i = 0; i < n; i++) { a[i] += b[i]; }", "if x == None or y != 'abc': print(f\"{x!r}\")",
    "<|endoftext|>", "a<|endoftext|>b", "<|endoftext", "endoftext|>", "<|endoftext|><|endoftext|>",
    "< s> <s> </s> <s/> <pad> <mask> x<mask>y  <mask>", "<|begin_of_text|>Hi<|end_of_text|>", "<|reserved|> <|reserved",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", "<|im_start|> <|im_end|>", "[CODE] x [CODE]y a[CODE]",
    "\ufffd replacement \u200b zero width \u200d joiner \ufeff bom", "\u0301 lone combining \u0300\u0301\u0302",
    "control \x01\x02\x1b[0m chars \x7f", "ﷺ ﷽ long ligatures", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝟘𝟙𝟚", "'s 's 'S 'ſ 'll'LL",
    "http://example.com/path?q=1&b=2#frag", "email@example.com", "C++ && || !== ===> <=> ...", "!!!???...,,,;;;",
    "a" * 300, " " * 50 + "x", "x" + "\n" * 20, "ab" * 100 + " " + "9" * 40,
]

CORPUS_WORDS = ("the of and to in is that it for on with as was by this be are from at or an have not which you "
                "they we can all one there their will been has more would about when what who some our out do "
                "code function return value int float string print def class import self data model token "
                "naïve café résumé über straße 日本 中文 テキスト 한국어 Русский Ελληνικά 😀 👍 ✨ "
                "1 2 3 10 42 100 2024 3.14 0x1F").split()


def corpus(seed=1234, lines=3000):
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        n = rng.randint(3, 14)
        words = [rng.choice(CORPUS_WORDS) for _ in range(n)]
        sep = rng.choice([" ", " ", " ", "  ", "\t", "\n", ", ", ". "])
        s = sep.join(words)
        if rng.random() < 0.2:
            s = "    " + s + "()\n"
        if rng.random() < 0.1:
            s = s + " it's they'll we've I'm"
        out.append(s)
    return out


def train(tok, specials, vocab_size=900):
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    return tok


def new(pre, norm=None, specials=()):
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre
    if norm is not None:
        t.normalizer = norm
    t.decoder = decoders.ByteLevel()
    return train(t, list(specials))


def save_json(tok, d, edit=None):
    os.makedirs(d, exist_ok=True)
    j = json.loads(tok.to_str())
    if edit:
        edit(j)
    s = json.dumps(j, ensure_ascii=False)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(s)
    return Tokenizer.from_str(s)


def save_vocab_merges(tok, d, fast_class):
    """The model as vocab.json + merges.txt in d, and transformers' fast
    tokenizer of that pair (its tokenizers backend is the reference)."""
    os.makedirs(d, exist_ok=True)
    tok.model.save(d)
    return fast_class(vocab_file=os.path.join(d, "vocab.json"), merges_file=os.path.join(d, "merges.txt")).backend_tokenizer


def families(out):
    fams = {}
    # GPT-2 style
    g = new(pre_tokenizers.ByteLevel(add_prefix_space=False), specials=["<|endoftext|>"])
    fams["gpt2"] = save_json(g, os.path.join(out, "gpt2"))
    from transformers import GPT2TokenizerFast, RobertaTokenizerFast
    fams["gpt2_vm"] = save_vocab_merges(g, os.path.join(out, "gpt2_vm"), GPT2TokenizerFast)
    # RoBERTa style
    r = new(pre_tokenizers.ByteLevel(add_prefix_space=True), norm=normalizers.NFC(),
            specials=["<s>", "<pad>", "</s>", "<unk>"])
    r.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)])
    r.post_processor = processors.RobertaProcessing(sep=("</s>", r.token_to_id("</s>")), cls=("<s>", r.token_to_id("<s>")))
    fams["roberta"] = save_json(r, os.path.join(out, "roberta"))
    fams["roberta_vm"] = save_vocab_merges(r, os.path.join(out, "roberta_vm"), RobertaTokenizerFast)
    # Llama-3 style
    ll = new(pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_RE), "isolated", invert=False),
                                      pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
             specials=["<|begin_of_text|>", "<|end_of_text|>"])
    ll.add_tokens([AddedToken("<|reserved|>", special=False, normalized=False)])
    ll.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", ll.token_to_id("<|begin_of_text|>"))])

    def ignore_merges(j):
        j["model"]["ignore_merges"] = True
    fams["llama3"] = save_json(ll, os.path.join(out, "llama3"), ignore_merges)
    # Qwen2 style
    q = new(pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_RE), "isolated", invert=False),
                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
            norm=normalizers.NFC(), specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    q.add_tokens([AddedToken("[CODE]", single_word=True, rstrip=True, normalized=True, special=False)])
    fams["qwen2"] = save_json(q, os.path.join(out, "qwen2"))
    # SmolLM / StarCoder style
    s = new(pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
            norm=normalizers.NFKC(), specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    fams["smollm"] = save_json(s, os.path.join(out, "smollm"))
    return fams


# llama.cpp pre names -> the HF pre-tokenizer of those models
def gguf_pre(name):
    if name in ("llama-bpe", "llama3", "dbrx", "smaug-bpe"):
        return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_RE), "isolated"),
                                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    if name in ("qwen2", "deepseek-r1-qwen"):
        return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_RE), "isolated"),
                                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    if name in ("smollm", "starcoder", "refact", "codeshell", "command-r"):
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)


def from_gguf(dump):
    with open(dump, encoding="utf-8") as f:
        g = json.load(f)
    vocab = {}
    for i, t in enumerate(g["tokens"]):
        vocab[t] = i
    merges = [tuple(m.split(" ", 1)) for m in g["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = gguf_pre(g.get("pre"))
    tok.decoder = decoders.ByteLevel()
    types = g["types"]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(g["tokens"], types) if ty == 3])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t, ty in zip(g["tokens"], types) if ty == 4])
    if g.get("add_bos") and g.get("bos", -1) >= 0:
        b = g["tokens"][g["bos"]]
        tok.post_processor = processors.TemplateProcessing(single=b + " $A", special_tokens=[(b, g["bos"])])
    return tok


def random_texts(seed=7, n=150):
    rng = random.Random(seed)
    pools = ["abcxyz", "ABC", "0123456789", " ", "\t\n\r", "'’", ".,;:!?()[]{}<>|/\\-_=+*&^%$#@~`\"",
             "éèêàçñüöÅ", "日本語中文한", "😀👍🏽✨🇫🇷", "\u0301\u200d\u00a0\u3000\u2028\u0085", "١٢٣४५६½²"]
    specials = ["<|endoftext|>", "<s>", "</s>", "<mask>", "<|im_start|>", "<|begin_of_text|>", "[CODE]", "<|reserved|>"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.08:
                parts.append(rng.choice(specials))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        out.append("".join(parts))
    return out


def main():
    out = sys.argv[1]
    fams = families(out)
    if len(sys.argv) > 2:
        fams["gguf"] = from_gguf(sys.argv[2])
    texts = TEXTS + random_texts()
    cases = []
    for name, tok in fams.items():
        for text in texts:
            ids = tok.encode(text, add_special_tokens=False).ids
            sp = tok.encode(text, add_special_tokens=True).ids
            cases.append({"tok": name, "text": text, "ids": ids, "ids_sp": sp,
                          "dec": tok.decode(sp, skip_special_tokens=False),
                          "dec_skip": tok.decode(sp, skip_special_tokens=True)})
    doc = {"families": [{"name": n, "dir": os.path.join(out, n)} for n in fams], "cases": cases}
    with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    print(f"{len(cases)} cases over {len(fams)} tokenizers")


if __name__ == "__main__":
    main()
