"""The import/export blueprint: upload or paste a configuration file, download the current one."""

from flask import Blueprint

bp = Blueprint("import_export", __name__, url_prefix="/settings/config")

from calango.import_export import routes  # noqa: E402, F401
