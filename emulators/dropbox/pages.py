"""The HTML the emulator serves: the sign-in and consent pages of the OAuth
flow, its error pages, and a read-only copy of the admin console's member list.
No scripts and no outside assets, so it works offline and in any browser."""

from __future__ import annotations

from html import escape

from .state import ROLES_BY_ID, Member, Team

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; background: #f7f5f2; color: #1e1919; }
header { background: #0061fe; color: #fff; padding: 12px 24px; font-weight: 600; font-size: 18px; }
main { max-width: 880px; margin: 32px auto; background: #fff; padding: 32px; border-radius: 8px;
       box-shadow: 0 1px 3px rgba(0,0,0,.12); }
main.narrow { max-width: 420px; }
h1 { font-size: 22px; margin-top: 0; }
label { display: block; margin: 12px 0 4px; font-weight: 600; }
input[type=email], input[type=password], input[type=text] { width: 100%; box-sizing: border-box; padding: 10px;
       border: 1px solid #c9c4bd; border-radius: 4px; font-size: 15px; }
button { margin-top: 20px; padding: 10px 20px; font-size: 15px; border-radius: 4px; border: 1px solid #0061fe;
         background: #0061fe; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1e1919; border-color: #c9c4bd; margin-right: 8px; }
.error { background: #fdecea; color: #9b1c1c; padding: 10px; border-radius: 4px; }
.muted { color: #736c64; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 8px; border-bottom: 1px solid #e6e1da; font-size: 14px; }
.status-active { color: #137333; } .status-invited { color: #8a6d00; }
.status-suspended { color: #9b1c1c; } .status-removed { color: #736c64; }
code { background: #f0ede9; padding: 4px 8px; border-radius: 4px; font-size: 16px; }
"""


def layout(title: str, body: str, *, narrow: bool = True, refresh_seconds: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title>{refresh}<style>{_STYLE}</style></head>"
        f"<body><header>Dropbox</header><main class=\"{'narrow' if narrow else ''}\">{body}</main></body></html>"
    )


def _hidden(fields: dict[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(key)}" value="{escape(value)}">'
        for key, value in fields.items() if value is not None
    )


def sign_in(app_name: str, params: dict[str, str], *, error: str | None = None, email: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return layout(
        f"Sign in to Dropbox to link with {app_name}",
        f"<h1>Sign in to Dropbox to link with {escape(app_name)}</h1>{problem}"
        '<form method="post" action="/oauth2/authorize">'
        f"{_hidden(params)}"
        '<label for="login_email">Email</label>'
        f'<input type="email" id="login_email" name="login_email" value="{escape(email)}" autocomplete="username" required>'
        '<label for="login_password">Password</label>'
        '<input type="password" id="login_password" name="login_password" autocomplete="current-password" required>'
        '<button type="submit">Sign in</button></form>',
    )


def consent(app_name: str, ticket: str, member: Member, team: Team) -> str:
    return layout(
        f"Sign in to Dropbox to link with {app_name}",
        f"<h1>Sign in to Dropbox to link with {escape(app_name)}</h1>"
        f"<p><strong>{escape(app_name)}</strong> would like to access the team "
        f"<strong>{escape(team.name)}</strong>: its members, groups and team information.</p>"
        f'<p class="muted">Signed in as {escape(member.email)}</p>'
        '<form method="post" action="/oauth2/authorize/decision">'
        f'<input type="hidden" name="ticket" value="{escape(ticket)}">'
        '<button type="submit" class="secondary" name="decision" value="cancel">Cancel</button>'
        '<button type="submit" name="decision" value="allow">Allow</button></form>',
    )


def error(message: str, *, status: int = 400) -> str:
    return layout(
        f"Dropbox - {status}",
        f"<h1>Error ({status})</h1>"
        "<p>It seems the app you were using submitted a bad request. If you would like to report "
        "this error to the app's developer, include the information below.</p>"
        f'<p class="error">More details for developers: {escape(message, quote=False)}</p>',
    )


def code(app_name: str, value: str) -> str:
    return layout(
        "Access code generated",
        "<h1>Access code generated</h1>"
        f"<p>Enter this code into {escape(app_name)} to finish the process.</p>"
        f'<p><code id="code">{escape(value)}</code></p>',
    )


def cancelled(app_name: str) -> str:
    return layout("Dropbox", f"<h1>{escape(app_name)} was not linked</h1><p>You can close this window.</p>")


def admin_members(team: Team, members: list[Member], *, total: int) -> str:
    """The admin console's "Members" page, read-only, refreshing itself every few seconds.
    ``members`` may be the first of ``total`` members, for a very large team."""
    rows = []
    for member in members:
        role = ", ".join(ROLES_BY_ID[r].name for r in member.role_ids if r in ROLES_BY_ID) or "Member"
        full_name = f"{member.given_name} {member.surname}".strip()
        rows.append(
            f'<tr data-email="{escape(member.email)}"><td>{escape(full_name)}</td>'
            f"<td>{escape(member.email)}</td>"
            f'<td class="status-{member.status}">{escape(member.status.capitalize())}</td>'
            f"<td>{escape(role)}</td><td>{escape(member.external_id or '')}</td></tr>"
        )
    counts = team.counts
    summary = (
        f"{counts['active']} active, {counts['invited']} invited, {counts['suspended']} suspended; "
        f"{team.used_licenses} of {team.licenses} licenses used"
    )
    if total > len(members):
        summary += f"; showing the first {len(members)} of {total}"
    return layout(
        f"Members - {team.name} - Dropbox admin console",
        f"<h1>Members</h1><p class=\"muted\">{escape(team.name)} &middot; {escape(summary)}</p>"
        '<table id="members"><thead><tr><th>Name</th><th>Email</th><th>Status</th><th>Role</th>'
        "<th>External ID</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
        narrow=False,
        refresh_seconds=5,
    )
