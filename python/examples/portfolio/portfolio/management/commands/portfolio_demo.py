"""``manage.py portfolio_demo``: the demo user, a PAT, and curl commands to try,
plus a staff user for the admin at /admin/.

Run after ``migrate``; safe to run again (the user's password is reset and
the previous demo PAT revoked). Everything after the line
``# In another terminal, while the site runs:`` is a bash script.
"""

import shlex
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from tessera.django.engine import get_engine

EMAIL = "demo@example.com"
USERNAME = "demo"
PASSWORD = "portfolio-demo-password"
PAT_NAME = "demo-cli"
# The admin shows each user's Tessera sessions and PATs; demo only.
ADMIN_USERNAME = "demo-admin"
ADMIN_PASSWORD = "portfolio-admin-password"
SCOPES = ["portfolio:read", "projects:write"]


class Command(BaseCommand):
    help = "Creates the demo user and a personal access token, and prints curl commands."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the site runs (default http://127.0.0.1:8000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        model = get_user_model()
        user, _ = model.objects.get_or_create(username=USERNAME, defaults={"email": EMAIL})
        user.email = EMAIL
        user.is_active = True
        user.set_password(PASSWORD)
        user.save()

        staff, _ = model.objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
        )
        staff.is_active = staff.is_staff = staff.is_superuser = True
        staff.set_password(ADMIN_PASSWORD)
        staff.save()

        engine = get_engine()
        for pat in engine.list_pats(user.pk):
            if pat.name == PAT_NAME:
                engine.revoke_pat(user.pk, pat.id)
        pat = engine.create_pat(user.pk, PAT_NAME, scopes=SCOPES)

        self.stdout.write(self.script(options["base_url"], pat.token))

    def script(self, base: str, pat: str) -> str:
        login = shlex.quote(f'{{"email": "{EMAIL}", "password": "{PASSWORD}"}}')
        project = shlex.quote('{"title": "Tessera demo", "summary": "Added with a PAT"}')
        password = shlex.quote(f'{{"password": "{PASSWORD}"}}')
        json_header = "-H 'Content-Type: application/json'"
        field = "python3 -c 'import json, sys; print(json.load(sys.stdin){})'"
        refresh_body = '"{\\"refresh\\": \\"$REFRESH\\"}"'
        rotate = f"-X POST {base}/api/v1/auth/refresh/ {json_header} -d {refresh_body}"
        return f"""
Open {base}/ in a browser: the single-page app (sign in as the demo user).
Demo user: {EMAIL} / {PASSWORD}  (the sign-in form is {base}/login/)
Admin: {base}/admin/  (staff user {ADMIN_USERNAME} / {ADMIN_PASSWORD}; a user's page
  lists their sessions and personal access tokens, and ends them)
API docs: {base}/api/docs/  (Swagger UI; the OpenAPI schema is {base}/api/schema/)
Personal access token "{PAT_NAME}" (scopes {", ".join(SCOPES)}), shown only once:
  {pat}

# In another terminal, while the site runs:

# 1. Log in with email and password: a token pair and the user.
curl -s -w '\\n' -X POST {base}/api/v1/auth/login/email/ {json_header} -d {login}

# 2. Read the portfolio and add a project with the personal access token.
curl -s -w '\\n' {base}/api/v1/portfolio/ -H 'Authorization: Bearer {pat}'
curl -s -w '\\n' -X POST {base}/api/v1/portfolio/projects/ -H 'Authorization: Bearer {pat}' \\
  {json_header} -d {project}

# 3. Keep a token pair in shell variables, call the API, rotate the refresh token.
PAIR=$(curl -s -X POST {base}/api/v1/auth/login/email/ {json_header} -d {login})
ACCESS=$(printf '%s' "$PAIR" | {field.format('["tokens"]["access"]')})
REFRESH=$(printf '%s' "$PAIR" | {field.format('["tokens"]["refresh"]')})
curl -s -w '\\n' {base}/api/v1/me/ -H "Authorization: Bearer $ACCESS"
ROTATED=$(curl -s {rotate})
printf '%s\\n' "$ROTATED"

# 4. The same refresh token again within REUSE_GRACE (10 s) gets the same pair:
#    two tabs refreshing at once end up with one session.
curl -s -w '\\n' {rotate}

# 5. Once its successor has rotated too, the first refresh token is reuse:
#    401 refresh_reused, and the session is revoked.
NEXT=$(printf '%s' "$ROTATED" | {field.format('["refresh"]')})
curl -s -o /dev/null -X POST {base}/api/v1/auth/refresh/ {json_header} \\
  -d "{{\\"refresh\\": \\"$NEXT\\"}}"
curl -s -w '\\n' {rotate}
curl -s -w '\\n' {base}/api/v1/me/ -H "Authorization: Bearer $ACCESS"

# 6. Check the password again (HasRecentAuth views ask for it): a new pair in
#    the same session, with a fresh auth_time.
ACCESS=$(curl -s -X POST {base}/api/v1/auth/login/email/ {json_header} -d {login} \\
  | {field.format('["tokens"]["access"]')})
curl -s -w '\\n' -X POST {base}/api/v1/auth/reauthenticate/ -H "Authorization: Bearer $ACCESS" \\
  {json_header} -d {password}
"""
