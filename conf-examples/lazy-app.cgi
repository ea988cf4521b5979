#!/usr/bin/python3
# Sample application page for a lazy location (AuthnContextUnauthenticatedAction
# pass): shows whether the visitor is signed in and how, and offers the
# REFEDS FAQ's separate login actions and a "confirm with MFA" action.
#   ScriptAliasMatch "^/lazy/$" /usr/lib/cgi-bin/lazy-app.cgi
# with /lazy/confirm/ a page that requires MFA (see demo.conf).
# It trusts only the variables the module sets (incoming headers of those
# names are removed by the module), and escapes everything it prints.
import html
import os
import urllib.parse

MFA = "https://refeds.org/profile/mfa"
# its own URL (ScriptAliasMatch "^/lazy/$" gives "/lazy/")
here = os.environ.get("SCRIPT_NAME") or "/lazy/"
user = os.environ.get("REMOTE_USER")
classes = os.environ.get("AUTHN_CONTEXT_CLASS", "").split()


def login(target, **params):
    return "/saml/login?" + urllib.parse.urlencode(dict(target=target, **params))


if user:
    how = "with multi-factor authentication" if MFA in classes else "without MFA"
    status = ('<p id="status">Signed in as <b>%s</b>, %s (%s).</p>'
              % (html.escape(user), how, html.escape(" ".join(classes))))
else:
    status = '<p id="status">You are not signed in.</p>'
actions = [
    ('signin', login(here), "Sign in"),
    ('signin-mfa', login(here, authnContextClassRef=MFA), "Sign in with MFA"),
    ('confirm-mfa', login(here + "confirm/", authnContextClassRef=MFA, forceAuthn="1"),
     "Confirm with MFA"),
    ('session', "/saml/session", "Show my session"),
    ('signout', "/saml/logout?return=" + urllib.parse.quote(here), "Sign out"),
]
links = "".join('<li><a id="%s" href="%s">%s</a></li>\n'
                % (i, html.escape(u), html.escape(t)) for i, u, t in actions)
print("Content-Type: text/html; charset=utf-8")
print()
print("""<!DOCTYPE html><html><head><title>Lazy page</title></head><body>
<h1>Lazy page</h1>%s
<ul>
%s</ul>
<p>This page is open to everyone; it shows more when you are signed in.
"Confirm with MFA" asks the IdP for a fresh MFA login for one action;
the confirm page itself requires MFA, whatever link leads there.</p>
</body></html>""" % (status, links))
