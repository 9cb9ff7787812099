"""Command-line tools: `python -m bot <command> --help`."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _build_spacy(args: argparse.Namespace) -> int:
    from bot import spacy_model

    print(f"spaCy pipeline written to {spacy_model.build()}")
    return 0


def _convert_minilm(args: argparse.Namespace) -> int:
    from bot.nlu import sentence_embeddings

    print(f"all-MiniLM-L6-v2 converted to TensorFlow in {sentence_embeddings.convert()}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build-spacy", help="build the English spaCy pipeline the NLU model uses (no download)"
    )
    build.set_defaults(run=_build_spacy)
    convert = commands.add_parser(
        "convert-minilm", help="convert the packaged all-MiniLM-L6-v2 weights to TensorFlow (once)"
    )
    convert.set_defaults(run=_convert_minilm)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
