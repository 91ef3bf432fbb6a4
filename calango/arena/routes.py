"""A Rinha's pages: the rounds and the form for a new one, a round (columns streaming side by
side, follow-ups, votes, Stop, continue in a chat), deleting, and the leaderboard. Every form
works without JavaScript (a round's page refreshes itself until every answer is done);
static/js/arena.js streams the columns in place."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from calango.arena import bp
from calango.arena.forms import FollowUpForm, LeaderboardForm, RoundForm, VoteForm
from calango.extensions import db
from calango.forms import ConfirmForm, confirm_then_delete
from calango.models import ArenaRound, ChatMessage, VoteOutcome
from calango.ownership import owned_round_or_404
from calango.rendering import render_markdown
from calango.request_input import DATABASE_ID_MAX
from calango.services import arena, arena_actions, arena_leaderboard, composer
from calango.services import arena_queries as queries
from calango.services.arena_view import round_view
from calango.services.streams import Delta, Done, follow_answer

# While streaming, the column's Markdown is rendered again at most this often.
RENDER_INTERVAL = 0.25


def _round_or_404(round_id: int) -> ArenaRound:
    return owned_round_or_404(round_id)  # another user's round: 404


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _index(form: RoundForm | None = None, error: str | None = None, status: int = 200):
    options = composer.composer_options()
    before = request.args.get("before", type=int)
    in_range = before is not None and 0 < before <= DATABASE_ID_MAX
    rounds = queries.recent_rounds(before=before if in_range else None)
    form = form or RoundForm(formdata=None)
    form.offer(options, arena_actions.last_choice())
    page = render_template(
        "arena/index.html",
        form=form,
        error=error,
        rounds=rounds,
        older=rounds[-1].id if len(rounds) == queries.ROUNDS_PAGE_SIZE else None,
        has_models=bool(options.providers),
    )
    return page, status


@bp.get("/")
def index() -> tuple[str, int]:
    """The new-round form and the saved rounds, newest first."""
    return _index()


@bp.post("/")
def create() -> BaseResponse | tuple[str, int]:
    form = RoundForm()
    try:
        started = arena.start_round(form.prompt.data or "", form.choices(), form.blind.data)
    except arena.ArenaInputError as exc:
        return _index(form, exc.message, exc.status)
    return redirect(url_for("arena.show", round_id=started.id), code=303)


@bp.get("/<int:round_id>")
def show(round_id: int) -> str:
    view = round_view(_round_or_404(round_id))
    return render_template(
        "arena/round.html", view=view, form=FollowUpForm(formdata=None), vote_form=VoteForm()
    )


@bp.get("/session/<uuid:session_id>")
def by_session(session_id: uuid.UUID) -> BaseResponse:
    """The round a contender's conversation belongs to (A Cuca's log links here)."""
    round_id = queries.round_of_session(session_id)
    if round_id is None:
        abort(404, description=_("This round does not exist or was deleted."))
    return redirect(url_for("arena.show", round_id=round_id), code=303)


@bp.post("/<int:round_id>/messages")
def follow_up(round_id: int) -> BaseResponse | tuple[str, int]:
    arena_round = _round_or_404(round_id)
    form = FollowUpForm()
    try:
        arena.follow_up(arena_round, form.prompt.data or "")
    except arena.ArenaInputError as exc:
        view = round_view(arena_round)
        page = render_template(
            "arena/round.html", view=view, form=form, vote_form=VoteForm(), error=exc.message
        )
        return page, exc.status
    return redirect(url_for("arena.show", round_id=round_id, _anchor="latest"), code=303)


@bp.get("/<int:round_id>/messages/<int:message_id>/stream")
def stream(round_id: int, message_id: int) -> Response:
    """Server-Sent Events: the column's answer as sanitised HTML (the whole answer so far, at
    most every RENDER_INTERVAL), then ``done`` with the finished column. Never starts an
    answer; a reconnect starts again from the beginning."""
    arena_round = _round_or_404(round_id)
    message = queries.message_in_round(round_id, message_id)
    if message is None:
        abort(404, description=_("This message does not exist or was deleted."))
    hidden = arena_round.blind and not arena_round.votes
    db.session.close()

    def events() -> Iterator[str]:
        yield "retry: 1500\n\n"
        text, last = "", 0.0
        for event in follow_answer(message_id, 0):
            if isinstance(event, Delta):
                text += event.text
                if time.monotonic() - last >= RENDER_INTERVAL:
                    last = time.monotonic()
                    yield f"data: {json.dumps({'html': str(render_markdown(text))})}\n\n"
            elif isinstance(event, Done):
                answer = db.session.get(ChatMessage, message_id)
                html = (
                    render_template("arena/_answer.html", answer=answer, hidden=hidden)
                    if answer
                    else ""
                )
                db.session.close()
                yield f"event: done\ndata: {json.dumps({'status': event.status, 'html': html})}\n\n"
                return
            else:
                yield ": keepalive\n\n"

    return Response(
        stream_with_context(events()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@bp.post("/<int:round_id>/messages/<int:message_id>/stop")
def stop(round_id: int, message_id: int) -> BaseResponse | tuple[Response, int]:
    ConfirmForm()  # CSRF is checked globally; the form documents what is posted
    stopped = arena_actions.stop_answer(_round_or_404(round_id), message_id)
    if _wants_json():
        return jsonify(stopped=stopped), 200
    if not stopped:
        flash(_("The answer had already finished."), "info")
    return redirect(url_for("arena.show", round_id=round_id), code=303)


@bp.post("/<int:round_id>/stop")
def stop_all(round_id: int) -> BaseResponse | tuple[Response, int]:
    ConfirmForm()
    stopped = arena_actions.stop_round(_round_or_404(round_id))
    if _wants_json():
        return jsonify(stopped=stopped), 200
    if not stopped:
        flash(_("Every answer had already finished."), "info")
    return redirect(url_for("arena.show", round_id=round_id), code=303)


@bp.post("/<int:round_id>/turns/<int:turn>/vote")
def vote(round_id: int, turn: int) -> BaseResponse:
    arena_round = _round_or_404(round_id)
    form = VoteForm()
    value = form.outcome.data or ""
    outcome, _sep, position = value.partition(":")
    # The buttons name a column by its position (see templates/arena/round.html).
    column = next(
        (c for c in arena_round.contenders if position.isdigit() and c.position == int(position)),
        None,
    )
    winner = column.slot if outcome == VoteOutcome.WINNER and column is not None else -1
    try:
        arena_actions.cast_vote(arena_round, turn, outcome, winner)
    except arena.ArenaInputError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Vote saved."), "success")
    return redirect(url_for("arena.show", round_id=round_id, _anchor=f"turn-{turn}"), code=303)


@bp.post("/<int:round_id>/columns/<int:position>/continue")
def continue_in_chat(round_id: int, position: int) -> BaseResponse:
    ConfirmForm()
    arena_round = _round_or_404(round_id)
    contender = next((c for c in arena_round.contenders if c.position == position), None)
    if contender is None:
        abort(404, description=_("This round has no such contender."))
    try:
        chat_id = arena_actions.continue_in_chat(contender)
    except arena.ArenaInputError as exc:
        flash(exc.message, "error")
        return redirect(url_for("arena.show", round_id=round_id), code=303)
    return redirect(url_for("chats.show", chat_id=chat_id), code=303)


@bp.route("/<int:round_id>/delete", methods=["GET", "POST"])
def delete(round_id: int) -> BaseResponse | str:
    arena_round = _round_or_404(round_id)
    return confirm_then_delete(
        "arena/delete.html",
        lambda: arena_actions.delete_round(arena_round),
        _("Deleted the round “%(title)s”.", title=arena_round.title),
        url_for("arena.index"),
        arena_round=arena_round,
    )


@bp.route("/clear", methods=["GET", "POST"])
def clear() -> BaseResponse | str:
    return confirm_then_delete(
        "arena/clear.html",
        arena_actions.clear_arena,
        _("A Rinha was cleared."),
        url_for("arena.index"),
        count=queries.round_count(),
    )


@bp.get("/leaderboard")
def leaderboard() -> str:
    form = LeaderboardForm(request.args)
    form.offer(queries.contender_personas())
    board = arena_leaderboard.leaderboard(form.period.data, form.persona.data or None)
    return render_template("arena/leaderboard.html", form=form, board=board)
