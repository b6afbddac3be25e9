"""Flask with WhiteNoise serving the files, and ``crossorigin.flask.CORS`` outside it.

WhiteNoise adds ``Access-Control-Allow-Origin: *`` to every file unless told otherwise.
``CORS(app)`` wraps ``app.wsgi_app`` as it is when called, so calling it after WhiteNoise is
installed puts the policy outside: it replaces WhiteNoise's ``*`` with its own answer.
``ASSETS_ORDER=whitenoise-outside`` installs them the other way round, to show that then
WhiteNoise answers alone and its ``*`` wins.
"""

from __future__ import annotations

import os

from flask import Flask
from whitenoise import WhiteNoise

from crossorigin.flask import CORS

app = Flask(__name__)
if os.environ.get("ASSETS_ORDER") == "whitenoise-outside":
    CORS(app, origins=[os.environ["MATRIX_ALLOWED_ORIGIN"]])
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=os.environ["ASSETS_DIR"], prefix="static/")  # type: ignore[method-assign]
else:
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=os.environ["ASSETS_DIR"], prefix="static/")  # type: ignore[method-assign]
    CORS(app, origins=[os.environ["MATRIX_ALLOWED_ORIGIN"]])
