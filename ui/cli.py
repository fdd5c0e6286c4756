"""`ray-advisor`: ingest, ask, chat, serve, eval. Heavy libraries are imported inside each command."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

import assistant.offline  # noqa: F401
from assistant.errors import TRAINING_MINUTES

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Ray Advisor: choose between Luma's Ray 3 and Ray 3.2, grounded in Luma's documents.")
console = Console()
# Messages are never broken inside a word: a path in a warning stays whole when stderr is a log file or a pipe,
# where Rich would otherwise wrap at 80 columns ("corpus/e mpty.txt"). The terminal wraps long lines itself.
errors = Console(stderr=True, soft_wrap=True)
TRAINING_TAKES = f"first ingest only; {TRAINING_MINUTES} min on 2 cores"  # told a user waiting on the decider


def _settings() -> Any:
    from assistant.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 2) -> None:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _bot(generator: str | None = None) -> Any:
    from assistant.core import Assistant
    from assistant.errors import RayAdvisorError

    settings = _settings()
    try:
        return Assistant.from_settings(settings, generator=generator)
    except (RayAdvisorError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Extra files or folders, besides the corpus dir.")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start over: re-embed everything.")] = False,
) -> None:
    """Chunk, de-duplicate, embed and store the corpus (incremental; only changed chunks are embedded)."""
    from rich.progress import Progress

    from assistant.errors import RayAdvisorError
    from assistant.store import Store
    from ingest.pipeline import run_ingest
    from ui.progress import PlainProgress

    settings = _settings()
    missing = [p for p in (paths or []) if not p.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(map(str, missing))}")
    if not settings.corpus_dir.is_dir():
        _fail(f"RAY_ADVISOR_CORPUS_DIR: {settings.corpus_dir} is not a folder")
    try:
        started = time.perf_counter()
        store = Store(settings)  # imports chromadb and opens the index (or connects to the server)
        opened = time.perf_counter() - started
        if not errors.is_terminal:  # a log or CI: no bar is drawn, so say how training goes in lines
            plain = PlainProgress(errors, prefix="decider ", intro=f"training the decider ({TRAINING_TAKES})")
            report = run_ingest(settings, paths, rebuild=rebuild, store=store, training_progress=plain)
        else:
            with Progress(console=errors, transient=True) as bar:
                task = bar.add_task("embedding", total=None)
                stages: dict[str, Any] = {}

                def training(stage: str, done: int, total: int) -> None:
                    if stage not in stages:  # first time: say what happens and how long it takes
                        label = f"decider: {stage} ({TRAINING_TAKES})"
                        stages[stage] = bar.add_task(label, total=total)
                    bar.update(stages[stage], completed=done, total=total)

                report = run_ingest(settings, paths, rebuild=rebuild, store=store, training_progress=training,
                                    progress=lambda done, total: bar.update(task, completed=done, total=total))
    except (RayAdvisorError, ValueError) as exc:
        _fail(str(exc), code=1)
    for skipped in report.skipped:
        errors.print(f"[yellow]warning:[/yellow] skipped {skipped.path}: {skipped.reason}", highlight=False)
    console.print(f"{report.added} added, {report.updated} updated, {report.removed} removed, "
                  f"{report.unchanged} unchanged ({report.chunks_stored} chunks from {len(report.files)} files, "
                  f"{report.chunks_before_dedupe} before de-duplication) in {report.seconds:.2f} s "
                  f"(+ {opened:.2f} s to open the index)")
    console.print(f"decider: {'trained' if report.decider_trained else 'unchanged'} ({report.decider})")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in your own words.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON.")] = False,
    generator: Annotated[str | None, typer.Option(help="extractive or openai (default: settings).")] = None,
) -> None:
    """Answer one question."""
    from assistant.core import Assistant
    from assistant.errors import IndexMissingError, InputError, RayAdvisorError
    from assistant.settings import SettingsError, load_settings

    try:
        bot = Assistant.from_settings(load_settings(), generator=generator)
        answer = bot.ask(question)
    except (RayAdvisorError, SettingsError, ValueError) as exc:
        kind = ("index_missing" if isinstance(exc, IndexMissingError) else
                "invalid_request_error" if isinstance(exc, InputError) else "invalid_setting")
        if as_json:  # a program reading stdout gets an object it can parse, not an empty line
            sys.stdout.write(json.dumps({"error": {"message": str(exc), "type": kind}}, indent=2) + "\n")
        _fail(str(exc), code=1 if kind == "index_missing" else 2)
    if as_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
    else:
        _render(answer)


def _render(answer: Any) -> None:
    from rich.markdown import Markdown
    from rich.panel import Panel

    from assistant.schema import MODEL_NAMES

    title = "No answer in the documents" if answer.abstained else f"Recommended: {MODEL_NAMES[answer.recommendation]}"
    console.print(Panel(Markdown(answer.answer), title=title, title_align="left"))
    for i, c in enumerate(answer.citations, 1):
        where = f"{c.section}, {c.row} ({c.column})" if c.row else c.section
        console.print(f"  [dim][{i}] {c.source} · {where}[/dim]", highlight=False)
    if answer.follow_ups:  # a conditional answer: say which fact decides it
        console.print("  It turns on one fact; reply " + " or ".join(f"[bold]“{f}”[/bold]" for f in answer.follow_ups),
                      highlight=False)


@app.command()
def chat() -> None:
    """A conversation in the terminal; follow-ups use the history. Ctrl-D or 'exit' to leave."""
    from assistant.errors import InputError

    bot = _bot()
    history: list[dict[str, str]] = []
    console.print("[bold]Ray Advisor[/bold]: ask which model fits your shot. ('exit' to leave)")
    while True:
        try:
            question = console.input("[bold cyan]you>[/bold cyan] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if question.strip().lower() in ("exit", "quit", ":q"):
            return
        if not question.strip():
            continue
        try:
            answer = bot.ask(question, history=history[-bot.settings.max_history_turns:])
        except InputError as exc:
            errors.print(f"[red]{exc}[/red]", highlight=False)
            continue
        _render(answer)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 7860,
    workers: Annotated[int, typer.Option(
        help="Worker processes. 1: the API and the chat page. N > 1: the API on N processes (use both cores; "
             "the page is then served by a separate one-worker `serve`).", min=1, max=64)] = 1,
) -> None:
    """Serve the HTTP API and the chat page (one worker), or the API on N worker processes."""
    from ui.ports import PortError, check_port

    try:
        check_port(host, port)  # first, before the model and Gradio load: a busy port fails in a second
    except PortError as exc:
        _fail(str(exc), code=1)
    from ui.serve import serve as run

    run(host=host, port=port, settings=_settings(), workers=workers)


@app.command(name="eval")
def eval_(
    cases: Annotated[Path | None, typer.Option(help="Cases file (YAML or JSONL).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write report.md/html, plots and results.json here.")] = None,
    generator: Annotated[str | None, typer.Option(help="Generator to evaluate (extractive or openai).")] = None,
    url: Annotated[str | None, typer.Option(help="Evaluate a running server's HTTP API instead.")] = None,
    thresholds: Annotated[str | None, typer.Option(help="JSON file or inline JSON of metric thresholds.")] = None,
    baseline: Annotated[bool, typer.Option(help="Hold to evals/baseline.json instead of the goals.")] = False,
) -> None:
    """Run the answer-eval suite; exit 1 when a threshold is missed."""
    from evals.runner import EvalOptions, main

    gates: Any = thresholds
    if thresholds and thresholds.strip().startswith("{"):
        gates = json.loads(thresholds)
    if baseline:
        gates = Path(__file__).resolve().parents[1] / "evals" / "baseline.json"
    settings = None if url else _settings()
    options = EvalOptions(cases=cases, report_dir=report, generator=generator, url=url, thresholds=gates)
    raise typer.Exit(main(options, settings, console))


if __name__ == "__main__":
    app()
