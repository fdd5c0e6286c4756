"""The Gradio chat page, mounted at "/" of the API app (Gradio is imported only when a page is built)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from assistant.errors import RayAdvisorError
from assistant.schema import Answer
from ui.feedback import record_feedback
from ui.render import EMPTY_BADGE, EMPTY_SOURCES, PAGE_CSS, badge_html, sources_markdown

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

    from assistant.core import Assistant
    from assistant.settings import Settings

log = logging.getLogger("ray_advisor.page")
_END = object()

EXAMPLES = [
    "I have product footage and need to relight it. Which model should I use?",
    "I have no footage yet, just an idea for a shot. Ray 3 or Ray 3.2?",
    "We want to explore a few looks and then localise the chosen take for other markets.",
    "Is Ray 3.2 always better than Ray 3?",
    "Does Ray 3.2 keep the actor's performance when I change the wardrobe?",
]

# Per-browser-session state: what is shown, what is sent as history, and each answer by message index.
Session = dict[str, Any]


def _new_session() -> Session:
    return {"chat": [], "history": [], "answers": {}}


def _in_background(pieces: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """Drain the answer generator on its own thread and hand pieces over through a queue.

    `Assistant.ask_stream` holds the assistant's lock while suspended; if this page event were cancelled
    (a closed tab) with the generator half-read, every other request would wait on that lock.
    """
    handoff: queue.Queue[object] = queue.Queue()

    def produce() -> None:
        try:
            for item in pieces:
                handoff.put(item)
            handoff.put(_END)
        except Exception as exc:
            handoff.put(exc)

    threading.Thread(target=produce, name="ray-advisor-answer", daemon=True).start()
    while (item := handoff.get()) is not _END:
        if isinstance(item, Exception):
            raise item
        yield item  # type: ignore[misc]


Respond = Callable[..., Iterator[tuple[Any, ...]]]


def _respond(get_bot: Callable[[], Assistant], settings: Settings) -> Respond:
    def respond(message: str, session: Session | None) -> Iterator[tuple[Any, ...]]:
        session = session or _new_session()
        if not message.strip():
            return  # nothing to ask; leave the page as it is
        chat: list[dict[str, str]] = [*session["chat"], {"role": "user", "content": message},
                                      {"role": "assistant", "content": "…"}]
        session = {**session, "chat": chat}
        yield "", chat, EMPTY_BADGE, "*Looking through the documents…*", session
        history = session["history"][-settings.max_history_turns:]
        shown, final = "", None
        try:
            for item in _in_background(get_bot().ask_stream(message, history)):
                if isinstance(item, Answer):
                    final = item
                    break
                shown += item
                chat[-1] = {"role": "assistant", "content": shown}
                yield "", chat, EMPTY_BADGE, "*Looking through the documents…*", session
        except RayAdvisorError as exc:  # a missing index or an unusable question: say what to do
            chat[-1] = {"role": "assistant", "content": f"⚠️ {exc}"}
            yield "", chat, EMPTY_BADGE, EMPTY_SOURCES, session
            return
        if final is None:
            raise RuntimeError("the answer stream ended without a final answer")
        # The final text is authoritative (a generator may have fallen back after streaming).
        chat[-1] = {"role": "assistant", "content": final.answer}
        answers = {**session["answers"], len(chat) - 1: final.model_dump(include={"question", "answer",
                                                                                   "recommendation"})}
        turns = [{"role": "user", "content": message}, {"role": "assistant", "content": final.answer}]
        session = {"chat": chat, "history": [*session["history"], *turns], "answers": answers}
        yield "", chat, badge_html(final), sources_markdown(final), session

    return respond


def _on_like(settings: Settings) -> Callable[..., None]:
    import gradio as gr

    def on_like(session: Session | None, data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        answer = (session or {}).get("answers", {}).get(index)
        if answer is None:  # an error message or a stale index: nothing that was answered to rate
            return
        record_feedback(settings.feedback_path, question=answer["question"], answer=answer["answer"],
                        recommendation=answer["recommendation"], liked=data.liked)

    # Gradio finds the LikeData parameter by its annotation, which must be a real class, not a string.
    on_like.__annotations__["data"] = gr.LikeData
    return on_like


def build_page(get_bot: Callable[[], Assistant], settings: Settings) -> gr.Blocks:
    import gradio as gr

    with gr.Blocks(title="Ray Advisor", analytics_enabled=False) as demo:
        gr.Markdown("# Ray Advisor\nRay 3 or Ray 3.2? Answers come only from Luma's comparison page and FAQ, "
                    "with the passages they rest on.")
        session = gr.State(_new_session())
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", elem_id="ra-chat", height=480,
                                     feedback_options=("Like", "Dislike"), buttons=["copy"])
                with gr.Row():
                    question = gr.Textbox(placeholder="Describe your shot or ask about Ray 3 vs Ray 3.2…",
                                          show_label=False, elem_id="ra-question", scale=5, autofocus=True,
                                          max_length=settings.max_question_chars)
                    ask = gr.Button("Ask", variant="primary", elem_id="ra-ask", scale=1)
                gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question], label="Example questions")
            with gr.Column(scale=2):
                badge = gr.HTML(EMPTY_BADGE, elem_id="ra-badge")
                gr.Markdown("### Sources")
                sources = gr.Markdown(EMPTY_SOURCES, elem_id="ra-sources")
        outputs = [question, chatbot, badge, sources, session]
        respond = _respond(get_bot, settings)
        for trigger in (question.submit, ask.click):
            trigger(respond, [question, session], outputs, show_progress="hidden")
        chatbot.like(_on_like(settings), [session], None)
        # The chat's own clear button empties the display; forget the conversation and its answers too.
        chatbot.clear(lambda: (_new_session(), EMPTY_BADGE, EMPTY_SOURCES), None, [session, badge, sources])
    # Set on purpose: Gradio's default of one event at a time would make each visitor wait for the others.
    demo.queue(default_concurrency_limit=settings.page_concurrency)
    return cast("gr.Blocks", demo)


def mount_page(app: FastAPI, path: str = "/") -> FastAPI:
    """Mount the page on an app made by `assistant.api.create_app`, sharing its lazily built Assistant."""
    import gradio as gr

    demo = build_page(app.state.holder.get, app.state.settings)
    # No allowed_paths: the page serves nothing from disk beyond Gradio's own assets.
    mounted = gr.mount_gradio_app(app, demo, path=path, css=PAGE_CSS, footer_links=["api"], show_error=False)
    return cast("FastAPI", mounted)
