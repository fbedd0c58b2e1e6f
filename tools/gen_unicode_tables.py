#!/usr/bin/env python3
"""Generates nmt/eval/unicode_tables.cc: the Unicode tables revnmt's scorer needs.

sacreBLEU's `intl` tokenizer splits on the general categories P* (punctuation), S* (symbols) and
N* (numbers), and every sacreBLEU metric relies on Python's str.lower() and str.split(), i.e.
on Python's idea of lowercase mappings (with the Final_Sigma rule) and of whitespace. revnmt
reproduces them without a Unicode library, from the compact sorted range tables written here.

The categories come from `unicodedata` by default. sacreBLEU itself asks the third-party `regex`
module for \\p{P}/\\p{S}/\\p{N}, whose Unicode version may be newer; `--categories regex` builds
the category table from that module instead (case and whitespace data always come from this
Python's str methods, which is what sacreBLEU uses for them).

Usage: tools/gen_unicode_tables.py [--categories unicodedata|regex] [-o nmt/eval/unicode_tables.cc]
"""

import argparse
import os
import sys
import unicodedata

MAX_CODE_POINT = 0x10FFFF


def category_class_unicodedata(cp):
    major = unicodedata.category(chr(cp))[0]
    return major if major in "PSN" else None


def make_regex_classifier():
    import regex  # third-party; only needed for --categories regex

    patterns = {k: regex.compile(r"\p{%s}" % k) for k in "PSN"}

    def classify(cp):
        ch = chr(cp)
        for k, pattern in patterns.items():
            if pattern.match(ch):
                return k
        return None

    return classify, regex.__version__


def class_ranges(classify):
    """Sorted, non-overlapping (first, last, class) runs of code points with class in P, S, N."""
    runs = []
    for cp in range(MAX_CODE_POINT + 1):
        k = classify(cp)
        if k is None:
            continue
        if runs and runs[-1][2] == k and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp, k])
    return runs


def bool_ranges(predicate):
    runs = []
    for cp in range(MAX_CODE_POINT + 1):
        if not predicate(cp):
            continue
        if runs and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return runs


def lower_runs():
    """Single-code-point lowercase mappings as runs (first, last, stride, delta): every
    first + k*stride <= last maps to itself + delta. Multi-code-point mappings are special cases
    in the C++ code (checked below), as is U+03A3, whose mapping depends on context."""
    mappings = []
    for cp in range(MAX_CODE_POINT + 1):
        if cp == 0x3A3 or 0xD800 <= cp <= 0xDFFF:
            continue
        lowered = chr(cp).lower()
        if lowered == chr(cp):
            continue
        if len(lowered) != 1:
            if cp != 0x130 or lowered != "i\u0307":
                sys.exit(f"unexpected multi-code-point lowercase for U+{cp:04X}: {lowered!r}")
            continue
        mappings.append((cp, ord(lowered) - cp))
    runs = []
    for cp, delta in mappings:
        if runs:
            first, last, stride, run_delta = runs[-1]
            step = cp - last
            if run_delta == delta and ((first == last and step in (1, 2)) or step == stride):
                runs[-1] = [first, cp, step, delta]
                continue
        runs.append([cp, cp, 1, delta])
    return runs


def sigma_context_classes():
    """Derives CPython's Cased and Case_Ignorable properties from str.lower() itself (Python
    does not expose them): 'Σ' preceded by c lowers to final 'ς' iff c is cased, and 'AΣ' with
    c in between still does iff c is case-ignorable (skipped) or cased."""
    def final(s):
        return s.lower()[-1] == "\u03c2"

    classes = []
    for cp in range(MAX_CODE_POINT + 1):
        if 0xD800 <= cp <= 0xDFFF:
            classes.append(None)
            continue
        c = chr(cp)
        alone = final(c + "\u03a3")
        after_cased = final("A" + c + "\u03a3")
        if after_cased and not alone:
            classes.append("I")  # case-ignorable
        elif alone:
            classes.append("C")  # cased (and not case-ignorable)
        else:
            classes.append(None)
    runs = []
    for cp, k in enumerate(classes):
        if k is None:
            continue
        if runs and runs[-1][2] == k and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp, k])
    return runs


def emit_rows(items, per_line):
    lines = []
    for i in range(0, len(items), per_line):
        lines.append("    " + " ".join(items[i:i + per_line]))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", choices=["unicodedata", "regex"], default="unicodedata")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("-o", "--output",
                        default=os.path.join(here, "..", "nmt", "eval", "unicode_tables.cc"))
    args = parser.parse_args()

    python_version = sys.version.split()[0]
    if args.categories == "regex":
        classify, regex_version = make_regex_classifier()
        category_source = f"the `regex` module {regex_version}"
    else:
        classify = category_class_unicodedata
        category_source = f"unicodedata (Unicode {unicodedata.unidata_version})"

    classes = class_ranges(classify)
    spaces = bool_ranges(lambda cp: chr(cp).isspace())
    lowers = lower_runs()
    sigma = sigma_context_classes()

    names = {"P": "kP", "S": "kS", "N": "kN", "I": "kIgnorable", "C": "kCased"}
    out = []
    out.append("// GENERATED by tools/gen_unicode_tables.py -- do not edit by hand; rerun the script.")
    out.append(f"// General categories P*/S*/N* from {category_source};")
    out.append(f"// whitespace, lowercase and Final_Sigma data from Python {python_version}'s str methods")
    out.append(f"// (Unicode {unicodedata.unidata_version}).")
    out.append("")
    out.append('#include "nmt/eval/unicode_tables.h"')
    out.append("")
    out.append("namespace revnmt::eval::unicode_tables {")
    out.append("")
    out.append("namespace {")
    out.append("constexpr CharClass kP = CharClass::kPunctuation;")
    out.append("constexpr CharClass kS = CharClass::kSymbol;")
    out.append("constexpr CharClass kN = CharClass::kNumber;")
    out.append("constexpr SigmaContext kIgnorable = SigmaContext::kCaseIgnorable;")
    out.append("constexpr SigmaContext kCased = SigmaContext::kCased;")
    out.append("}  // namespace")
    out.append("")
    out.append(f'const char kUnicodeVersion[] = "{unicodedata.unidata_version}";')
    out.append(f'const char kCategorySource[] = "{category_source}";')
    out.append("")
    out.append("// clang-format off")
    out.append("const ClassRange kClassRanges[] = {")
    out.append(emit_rows([f"{{0x{a:X}, 0x{b:X}, {names[k]}}}," for a, b, k in classes], 4))
    out.append("};")
    out.append("const size_t kClassRangeCount = sizeof(kClassRanges) / sizeof(kClassRanges[0]);")
    out.append("")
    out.append("const CodePointRange kSpaceRanges[] = {")
    out.append(emit_rows([f"{{0x{a:X}, 0x{b:X}}}," for a, b in spaces], 6))
    out.append("};")
    out.append("const size_t kSpaceRangeCount = sizeof(kSpaceRanges) / sizeof(kSpaceRanges[0]);")
    out.append("")
    out.append("const LowerRun kLowerRuns[] = {")
    out.append(emit_rows([f"{{0x{a:X}, 0x{b:X}, {s}, {d}}}," for a, b, s, d in lowers], 3))
    out.append("};")
    out.append("const size_t kLowerRunCount = sizeof(kLowerRuns) / sizeof(kLowerRuns[0]);")
    out.append("")
    out.append("const SigmaContextRange kSigmaContextRanges[] = {")
    out.append(emit_rows([f"{{0x{a:X}, 0x{b:X}, {names[k]}}}," for a, b, k in sigma], 3))
    out.append("};")
    out.append("const size_t kSigmaContextRangeCount =")
    out.append("    sizeof(kSigmaContextRanges) / sizeof(kSigmaContextRanges[0]);")
    out.append("// clang-format on")
    out.append("")
    out.append("}  // namespace revnmt::eval::unicode_tables")
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {args.output}: {len(classes)} category ranges, {len(spaces)} space ranges, "
          f"{len(lowers)} lowercase runs, {len(sigma)} Final_Sigma context ranges")


if __name__ == "__main__":
    main()
