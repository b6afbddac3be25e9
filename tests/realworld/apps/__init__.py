"""One small app per framework, wired to crossorigin the way that framework's users would.

Every app serves the same three endpoints under one policy (see :mod:`.common`), so the
browser smoke run can ask each of them the same questions.
"""
