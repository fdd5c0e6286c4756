"""The Gradio chat page, mounted at "/" of the API app (Gradio is imported only when a page is built)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from assistant.errors import RayAdvisorError
from assistant.followups import FOLLOW_UPS
from assistant.schema import Answer
from ui.feedback import record_feedback
from ui.render import EMPTY_BADGE, EMPTY_SOURCES, PAGE_CSS, badge_html, sources_markdown

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

    from assistant.core import Assistant
    from assistant.settings import Settings

log = logging.getLogger("ray_advisor.page")

EXAMPLES = [
    "I have product footage and need to relight it. Which model should I use?",
    "I have no footage yet, just an idea for a shot. Ray 3 or Ray 3.2?",
    "We want to explore a few looks and then localise the chosen take for other markets.",
    "Is Ray 3.2 always better than Ray 3?",
    "Does Ray 3.2 keep the actor's performance when I change the wardrobe?",
]
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans",
                "Liberation Sans", "DejaVu Sans", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "DejaVu Sans Mono",
              "monospace"]

# The answer is shown as it grows. An LLM's pieces arrive over seconds; the extractive answer is ready at
# once, and sent in one burst the browser would paint in one frame. So pieces are shown at most this often,
# a word group at a time: the reader sees the verdict first and the quotes arrive under it.
REVEAL_EVERY_S = 0.04
REVEAL_WORDS = 8
BUSY = "*Looking through the documents…*"

# Per-browser-session state: what is shown, what is sent as history, and each answer by message index.
Session = dict[str, Any]


def _new_session() -> Session:
    return {"chat": [], "history": [], "answers": {}}


Respond = Callable[..., Iterator[tuple[Any, ...]]]


def _word_groups(text: str, size: int = REVEAL_WORDS) -> Iterator[str]:
    """`text` in groups of `size` words (whitespace kept), so a line of quotes appears in a few steps."""
    words = text.split(" ")
    for i in range(0, len(words), size):
        group = " ".join(words[i:i + size])
        yield group if i + size >= len(words) else group + " "


def _paced(pieces: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """Re-cut text pieces into word groups shown at most every REVEAL_EVERY_S; the final Answer at once."""
    last = 0.0
    for item in pieces:
        if isinstance(item, Answer):
            yield item
            continue
        for group in _word_groups(item):
            wait = last + REVEAL_EVERY_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # pacing what a person sees, on this event's own worker thread
            last = time.monotonic()
            yield group


def _follow_up_buttons(answer: Answer | None) -> list[Any]:
    import gradio as gr

    offers = list(answer.follow_ups) if answer is not None else []
    return [gr.update(value=offers[i], visible=True) if i < len(offers) else gr.update(visible=False)
            for i in range(len(FOLLOW_UPS))]


def _respond(get_bot: Callable[[], Assistant], settings: Settings) -> Respond:
    def respond(message: str, session: Session | None) -> Iterator[tuple[Any, ...]]:
        session = session or _new_session()
        if not message.strip():
            return  # nothing to ask; leave the page as it is
        chat: list[dict[str, str]] = [*session["chat"], {"role": "user", "content": message},
                                      {"role": "assistant", "content": "…"}]
        session = {**session, "chat": chat}
        hidden = _follow_up_buttons(None)
        yield "", chat, EMPTY_BADGE, BUSY, session, *hidden
        history = session["history"][-settings.max_history_turns:]
        shown, final = "", None
        try:
            for item in _paced(get_bot().ask_stream(message, history)):
                if isinstance(item, Answer):
                    final = item
                    break
                shown += item
                # A new list each time: Gradio sends the difference from what it sent before.
                chat = [*chat[:-1], {"role": "assistant", "content": shown}]
                yield "", chat, EMPTY_BADGE, BUSY, {**session, "chat": chat}, *hidden
        except RayAdvisorError as exc:  # a missing index or an unusable question: say what to do
            chat = [*chat[:-1], {"role": "assistant", "content": f"⚠️ {exc}"}]
            yield "", chat, EMPTY_BADGE, EMPTY_SOURCES, {**session, "chat": chat}, *hidden
            return
        if final is None:
            raise RuntimeError("the answer stream ended without a final answer")
        # The final text is authoritative (a generator may have fallen back after streaming).
        chat = [*chat[:-1], {"role": "assistant", "content": final.answer}]
        answers = {**session["answers"], len(chat) - 1: final.model_dump(include={"question", "answer",
                                                                                   "recommendation"})}
        turns = [{"role": "user", "content": message}, {"role": "assistant", "content": final.answer}]
        session = {"chat": chat, "history": [*session["history"], *turns], "answers": answers}
        yield "", chat, badge_html(final), sources_markdown(final), session, *_follow_up_buttons(final)

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
                    "with the passages they rest on. [HTTP API](/docs)", elem_id="ra-intro")
        session = gr.State(_new_session())
        with gr.Row(equal_height=False, elem_id="ra-main"):
            with gr.Column(scale=3, min_width=300):
                # The verdict comes first, above the conversation, at every width (on a phone too).
                badge = gr.HTML(EMPTY_BADGE, elem_id="ra-badge")
                chatbot = gr.Chatbot(label="Conversation", elem_id="ra-chat", height=460, min_height=160,
                                     feedback_options=("Like", "Dislike"), buttons=["copy"])
                with gr.Row(elem_id="ra-follow-ups"):
                    follow_ups = [gr.Button(text, visible=False, size="sm", variant="secondary", min_width=120,
                                            elem_classes=["ra-follow-up"]) for text in FOLLOW_UPS]
                with gr.Row(elem_id="ra-ask-row"):
                    question = gr.Textbox(placeholder="Describe your shot, or ask…", show_label=False,
                                          elem_id="ra-question", scale=5, autofocus=True, lines=1,
                                          max_length=settings.max_question_chars)
                    ask = gr.Button("Ask", variant="primary", elem_id="ra-ask", scale=1, min_width=72)
            with gr.Column(scale=2, min_width=300):
                gr.Markdown("### Sources")
                sources = gr.Markdown(EMPTY_SOURCES, elem_id="ra-sources")
        gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question], label="Example questions")
        outputs = [question, chatbot, badge, sources, session, *follow_ups]
        respond = _respond(get_bot, settings)
        for trigger in (question.submit, ask.click):
            trigger(respond, [question, session], outputs, show_progress="hidden")
        for button in follow_ups:  # one click sends the button's text as the next turn, with the history
            button.click(respond, [button, session], outputs, show_progress="hidden")
        chatbot.like(_on_like(settings), [session], None)
        # The chat's own clear button empties the display; forget the conversation and its answers too.
        chatbot.clear(lambda: (_new_session(), EMPTY_BADGE, EMPTY_SOURCES, *_follow_up_buttons(None)), None,
                      [session, badge, sources, *follow_ups])
    # Set on purpose: Gradio's default of one event at a time would make each visitor wait for the others.
    demo.queue(default_concurrency_limit=settings.page_concurrency)
    return cast("gr.Blocks", demo)


def mount_page(app: FastAPI, path: str = "/") -> FastAPI:
    """Mount the page on an app made by `ui.api.create_app`, sharing its lazily built Assistant."""
    import gradio as gr

    demo = build_page(app.state.holder.get, app.state.settings)
    # No allowed_paths: the page serves nothing from disk beyond Gradio's own assets. No "Use via API" link
    # (it documents Gradio's internal event endpoints); the page links to the real API's /docs instead.
    # System fonts: the bundled Source Sans Pro semibold lacks glyphs (a bold "A" fell back to another face),
    # and a web font would need the internet.
    theme = gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS)
    mounted = gr.mount_gradio_app(app, demo, path=path, css=PAGE_CSS, theme=theme, footer_links=["gradio"],
                                  show_error=False)
    return cast("FastAPI", mounted)
