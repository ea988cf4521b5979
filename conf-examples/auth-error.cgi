#!/usr/bin/python3
# Sample error page for mod_authncontext's AuthnContextErrorURL.
#
# The module redirects here with the query parameters the Shibboleth SP
# uses, so error scripts written for mod_shib keep working:
#   now, requestURL, errorType, errorText, statusCode, statusCode2,
#   statusMessage, entityID, RelayState, eventType, requestedContext
# errorType is one of saml-status, insufficient-context, invalid-response,
# session-expired.
#
# Install: copy to a CGI directory, make it executable, and point
#   AuthnContextErrorURL /auth-error.cgi
# at it (ScriptAlias /auth-error.cgi /usr/lib/cgi-bin/auth-error.cgi).
# Never put it behind AuthType SAML: a user without a session must see it.
#
# Everything printed is HTML-escaped; parameters are attacker-controlled.

import html
import os
import urllib.parse

MFA = "https://refeds.org/profile/mfa"
NO_AUTHN_CONTEXT = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
NO_PASSIVE = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"

q = {k: v[0] for k, v in urllib.parse.parse_qs(os.environ.get("QUERY_STRING", "")).items()}
error_type = q.get("errorType", "")
status2 = q.get("statusCode2", "")
requested = q.get("requestedContext", "")
request_url = q.get("requestURL", "")


def local_url(url):
    """Only offer a retry link to a path on this site (no open redirect)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme or parts.netloc:
        host = os.environ.get("HTTP_HOST", "")
        if parts.scheme not in ("http", "https") or parts.netloc != host:
            return None
        url = urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
    return url if url.startswith("/") and not url.startswith("//") else None


needs_mfa = MFA in requested.split() or "mfa" in requested.lower()
if error_type == "insufficient-context" or status2 == NO_AUTHN_CONTEXT:
    if needs_mfa:
        title = "This page needs multi-factor authentication"
        explain = ("You signed in, but this page requires a second factor "
                   "(for example a one-time code from your phone or a security key), "
                   "and your sign-in did not include one. Sign in again and use your "
                   "second factor. If you have none set up, ask your IT help desk "
                   "to register one.")
    else:
        title = "This page needs a stronger sign-in"
        explain = ("Your identity provider could not sign you in the way this page "
                   "requires. Try again, or contact your IT help desk.")
elif status2 == NO_PASSIVE:
    title = "Please sign in"
    explain = "You are not signed in at your identity provider yet."
elif status2 == AUTHN_FAILED:
    title = "Sign-in failed"
    explain = "Your identity provider could not sign you in."
elif error_type == "session-expired":
    title = "Your session has expired"
    explain = "Please sign in again."
elif error_type == "invalid-response":
    title = "Sign-in could not be completed"
    explain = ("The answer from your identity provider could not be accepted. "
               "Please try again; if it keeps happening, contact the site's support.")
else:
    title = "Sign-in problem"
    explain = "Something went wrong while signing you in."

retry = local_url(request_url) if request_url else None
rows = ""
for k in ("errorType", "statusCode", "statusCode2", "statusMessage",
          "requestedContext", "entityID", "requestURL", "now"):
    if q.get(k):
        rows += "<tr><th>%s</th><td>%s</td></tr>\n" % (html.escape(k), html.escape(q[k]))

print("Status: 403 Forbidden" if error_type else "Status: 200 OK")
print("Content-Type: text/html; charset=utf-8")
print("Cache-Control: no-store")
print()
print("""<!DOCTYPE html>
<html><head><title>%(title)s</title></head>
<body>
<h1 id="title">%(title)s</h1>
<p id="explain">%(explain)s</p>
%(retry)s
<details><summary>Details for the help desk</summary>
<table id="details">
%(rows)s</table></details>
</body></html>""" % {
    "title": html.escape(title),
    "explain": html.escape(explain),
    "retry": ('<p><a id="retry" href="%s">Try again</a></p>' % html.escape(retry, quote=True))
             if retry else "",
    "rows": rows,
})
