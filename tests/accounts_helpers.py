"""Accounts in tests: make a user, sign a test client in as them."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from calango.extensions import db
from calango.models.user import User

PASSWORD = "correct horse battery staple"


def make_user(
    app: Flask, email: str, password: str = PASSWORD, *, admin: bool = False, **fields: object
) -> User:
    """A new account, committed; returns it detached but readable."""
    with app.app_context():
        user = User(email=User.normalize_email(email), is_admin=admin, **fields)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def login_as(client: FlaskClient, user: User) -> None:
    """Sign ``client`` in as ``user`` without the login form (Flask-Login's session keys)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
