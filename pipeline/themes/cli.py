"""`stemning themes` — explain theme / leave-intent decisions and evaluate them on labelled posts."""

from __future__ import annotations

import argparse
import sys
import textwrap

EXPLAIN_EPILOG = """\
examples:
  stemning themes explain "Arbejdspresset er vildt. Jeg har sagt op."
  stemning themes explain "I'm not leaving, just going for lunch" --lang en
  stemning themes explain "Mette stopper – kom til reception fredag" --lang da
"""
EVAL_EPILOG = """\
examples:
  stemning themes eval                     # held-out set tests/data/themes/eval.jsonl
  stemning themes eval --set dev --errors 20
  stemning themes eval --set my_posts.jsonl --lang-from auto
  stemning themes eval --speed             # also measure texts/s
  stemning themes eval --set independent --classifier off   # term matcher alone, for comparison
"""


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    themes = subparsers.add_parser(
        "themes", help="HR themes and leave intent: explain a text or evaluate on labelled posts",
        description="HR theme detection (14 fixed theme ids, Danish + English term lists in "
                    "pipeline/themes/taxonomy.yaml) and the leave-intent flag.")
    sub = themes.add_subparsers(dest="themes_command", metavar="{explain,eval}")
    sub.required = True

    explain = sub.add_parser(
        "explain", help="show which terms matched, in which sentence, by which rule, and the leave-intent verdict",
        description="Analyse one text and show the evidence: every matched term with its sentence and rule, "
                    "and for each leave-intent trigger its subject, negation and hard negatives.",
        epilog=EXPLAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    explain.add_argument("text", help="the text to analyse (quote it)")
    explain.add_argument("--lang", default="auto", choices=["auto", "da", "en", "both"],
                         help="language of the text; auto = detect with lingua (default: auto)")
    _classifier_option(explain)
    explain.set_defaults(func=cmd_explain)

    evaluate = sub.add_parser(
        "eval", help="micro-F1 for themes, per-theme P/R/F1 and leave-intent P/R/F1 on a labelled set",
        description="Evaluate on hand-labelled posts (JSONL: id, lang, text, themes, leave_intent).",
        epilog=EVAL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("--set", dest="dataset", default="eval",
                          help="'eval' (held out, default), 'dev' (used for tuning), 'independent' (written and labelled "
                               "by others than the term lists' author; held out), 'independent-dev' (its other "
                               "half, used for tuning), 'challenge' (597 posts by two later writers, 15 %% leave "
                               "intent and as many look-alikes; held out), 'challenge-2' (595 posts by two more writers, "
                               "the same mix, written and labelled blind after the session-11 heads; held out), "
                               "'challenge-3' (598 posts by two more writers, the same mix, written before the "
                               "session-13 models were trained; held out), 'challenge-4' (599 posts by two more writers, the same mix, "
                               "written in session 14 before any model trained on its minimal pairs; held out) "
                               "or a path to a JSONL file")
    evaluate.add_argument("--lang-from", choices=["data", "auto"], default="data",
                          help="use each post's labelled language (default) or detect it")
    evaluate.add_argument("--errors", type=int, default=0, metavar="N",
                          help="also list the first N misclassified posts with their evidence")
    evaluate.add_argument("--speed", action="store_true", help="also measure throughput (texts/s)")
    _classifier_option(evaluate)
    evaluate.set_defaults(func=cmd_eval)


def _classifier_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--classifier", choices=["e5", "off"], default=None,
                        help="e5 = term matcher + learned sentence classifier (hybrid), off = term matcher only "
                             "(default: the STEMNING_THEME_CLASSIFIER setting)")


def _analyzer(choice: str | None):  # noqa: ANN202 - ThemeAnalyzer (spaCy imported lazily)
    from pipeline.themes.matcher import ThemeAnalyzer, get_analyzer

    return get_analyzer() if choice is None else ThemeAnalyzer(classifier=choice)


def _resolve_lang(text: str, lang: str) -> tuple[str | None, str]:
    """(language code for the analyzer, how it was chosen)."""
    if lang == "both":
        return None, "both lexicons (--lang both)"
    if lang != "auto":
        return lang, "given"
    from pipeline.nlp.langid import detect_languages

    detected, confidence = detect_languages([text])[0]
    if detected == "other":
        return None, f"detected other (confidence {confidence:.2f}): both lexicons"
    return detected, f"detected (confidence {confidence:.2f})"


def format_explanation(text: str, result, how: str = "") -> str:  # noqa: ANN001 - ThemeResult
    from pipeline.themes.taxonomy import load_taxonomy

    tax = load_taxonomy()
    lines = [f"language: {result.lang}" + (f" ({how})" if how else ""),
             f"themes: {result.themes_column or '(none)'}",
             f"leave_intent: {int(result.leave_intent)}", ""]
    for i, sent in enumerate(result.sentences):
        flag = "  [leave intent]" if sent.leave_intent else ""
        lines.append(f"sentence {i + 1}: {text[sent.start_char:sent.end_char]!r}")
        lines.append(f"  themes: {', '.join(sent.themes) or '(none)'}{flag}")
        for m in (m for m in result.matches if m.sentence == i):
            label = tax.label(m.theme, "en")
            if m.rule == "classifier":
                lines.append(f"    {m.theme:<18} {_learned_source(m)} ({label})")
            else:
                lines.append(f"    {m.theme:<18} {m.text!r} <- term {m.term!r} by {m.rule} ({label})")
        for s in (s for s in result.leave_signals if s.sentence == i):
            if s.mode == "classifier":
                lines.append(f"    {s.reason}")
                continue
            lines.append(f"    leave trigger {s.text!r} ({s.mode}; subject {s.subject}"
                         + (f" '{s.subject_word}'" if s.subject_word else "") + f"): {s.reason}")
    if not result.leave_signals:
        lines += ["", "no leave-intent trigger matched"]
    return "\n".join(lines)


def cmd_explain(args: argparse.Namespace) -> int:
    lang, how = _resolve_lang(args.text, args.lang)
    result = _analyzer(args.classifier).analyse_one(args.text, lang)
    print(format_explanation(args.text, result, how))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from pipeline.themes.evaluate import dataset_path, format_report, load_examples, score, throughput

    path = dataset_path(args.dataset)
    if not path.is_file():
        print(f"error: evaluation set {path} not found; use --set eval|dev|independent|independent-dev or a JSONL file path", file=sys.stderr)
        return 2
    try:
        examples = load_examples(path)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    langs: list[str | None] = [e.lang for e in examples]
    if args.lang_from == "auto":
        from pipeline.nlp.langid import detect_languages

        langs = [lang if lang != "other" else None for lang, _ in detect_languages([e.text for e in examples])]
    analyzer = _analyzer(args.classifier)
    results = analyzer.analyse([e.text for e in examples], langs, progress=True)
    report = score(examples, results)
    print(format_report(report, f"{path.name} (languages: {args.lang_from}; classifier: {analyzer.classifier})"))
    for example, result in report.errors[: args.errors]:
        fp, fn = sorted(set(result.themes) - example.themes), sorted(example.themes - set(result.themes))
        leave = "" if result.leave_intent == example.leave_intent else \
            f"  leave_intent gold={int(example.leave_intent)} predicted={int(result.leave_intent)}"
        print(f"\n- {example.id} [{example.lang}] {textwrap.shorten(example.text, 100)}")
        print(f"    false themes: {fp or '-'}  missed themes: {fn or '-'}{leave}")
        for m in result.matches:
            if m.theme in fp:
                source = _learned_source(m) if m.rule == "classifier" else f"{m.term!r} ({m.rule})"
                print(f"    evidence for {m.theme}: {m.text!r} <- {source}")
        if leave:
            for s in result.leave_signals:
                print(f"    trigger {s.text!r}: {s.reason}")
    if args.speed:
        # The encoder is ~100x slower than the term matcher: time fewer repetitions when it runs.
        min_texts = 5000 if analyzer.classifier == "off" else 1000
        rate = throughput([e.text for e in examples], [e.lang for e in examples], analyzer, min_texts=min_texts)
        print(f"\nthroughput: {rate:,.0f} texts/s (labelled languages, batches of {analyzer.batch_size}, "
              f"classifier: {analyzer.classifier})")
    return 0


def _learned_source(match) -> str:  # noqa: ANN001 - pipeline.themes.matcher.ThemeMatch
    """A learned theme hit's evidence: the sentence classifier's p, or the leave model's (the retention theme
    it adds with leave intent)."""
    who = "leave model" if match.term == "leave_model" else "classifier"
    return f"{who} p={match.p:.2f}"
