"""``moderation policy``: show the moderation policy, and re-decide stored comments under another one."""

from __future__ import annotations

from typing import Annotated

import typer

from moderation.cli.options import DatabaseOpt, OldArticleOpt, PolicyOpt, err, open_store, out, renamed, user_errors
from moderation.storage import DEFAULT_DATABASE_URL

app = typer.Typer(help="The moderation policy (TOML): show it, re-decide stored comments.", no_args_is_help=True)


@app.command("show")
def show_policy(policy: PolicyOpt = None) -> None:
    """Print the policy as TOML with its digest (a starting point for your own)."""
    from moderation.policy import Policy

    with user_errors():
        loaded = Policy.load(policy) if policy else Policy.default()
    err.print(f"policy {loaded.digest}")
    out.print(loaded.to_toml(), highlight=False, markup=False)


@app.command("apply")
def apply_policy(
    policy: PolicyOpt = None,
    thread: Annotated[int | None, typer.Option(help="Only this stored thread's comments (its id).")] = None,
    old_article: OldArticleOpt = None,
    database_url: DatabaseOpt = DEFAULT_DATABASE_URL,
) -> None:
    """Re-decide stored comments under POLICY from their stored scores (no re-scoring); a moderator's
    decisions stay."""
    from moderation.decisions import redecide
    from moderation.policy import Policy
    from moderation.storage import transaction

    with user_errors():
        thread = renamed(
            thread, old_article, old_name="--article", new_name="--thread", meaning="stored thread to re-decide"
        )
        loaded = Policy.load(policy) if policy else Policy.default()
        with transaction(open_store(database_url)) as session:
            counts = redecide(session, loaded, thread_id=thread, actor="operator (cli)")
    total = sum(counts.values())
    detail = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing to change"
    out.print(f"policy {loaded.digest}: re-decided {total} comments ({detail})")
