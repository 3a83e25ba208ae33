"""``moderation feedback``: moderators' suggested scores, exported as training data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from moderation.cli.inputs import read_jsonl
from moderation.cli.options import DatabaseOpt, open_store, out, user_errors
from moderation.storage import DEFAULT_DATABASE_URL

app = typer.Typer(
    help="Moderators' feedback: the scores clients suggested (Perspective's SuggestCommentScore).",
    no_args_is_help=True,
)


@app.command("export")
def export_feedback(
    texts: Annotated[
        str, typer.Argument(help="JSONL with a 'text' per line (e.g. comments exported from Coral), or - for stdin.")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="The JSONL to write, for 'moderation train --feedback'.")],
    database_url: DatabaseOpt = DEFAULT_DATABASE_URL,
) -> None:
    """Write each text that stored feedback names (by the SHA-256 of the text), once, with the latest suggested
    score of each attribute the desk's heads answer. The desk never stored the texts: bring them."""
    from moderation.feedback import feedback_examples
    from moderation.storage import transaction

    with user_errors():
        items = read_jsonl(texts)
        with transaction(open_store(database_url)) as session:
            examples = list(feedback_examples(session, (item["text"] for item in items)))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with out_file.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(example.as_json(), ensure_ascii=False) + "\n")
    out.print(f"wrote {len(examples)} of {len(items)} texts with feedback to {out_file}")
