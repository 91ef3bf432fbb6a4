"""A Rinha (the arena): 2–4 models answer the same prompt side by side; votes; leaderboard."""

from flask import Blueprint

bp = Blueprint("arena", __name__, url_prefix="/rinha")

from calango.arena import routes  # noqa: E402, F401
