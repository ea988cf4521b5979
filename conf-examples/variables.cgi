#!/usr/bin/python3
# Sample "variables page" for mod_authncontext: shows what the module tells
# applications about the current session. Put it behind AuthType SAML.
#   ScriptAlias /app/vars /usr/lib/cgi-bin/variables.cgi
# CGI turns '-' in variable names into '_' (Shib-AuthnContext-Class ->
# Shib_AuthnContext_Class).
import html
import os

MFA = "https://refeds.org/profile/mfa"
names = ["REMOTE_USER", "AUTH_TYPE", "AUTHN_CONTEXT_CLASS", "AUTHN_CONTEXT_INSTANT",
         "AUTHN_CONTEXT_IDP", "AUTHN_CONTEXT_SESSION_INDEX",
         "Shib_AuthnContext_Class", "Shib_Authentication_Instant"]
classes = os.environ.get("AUTHN_CONTEXT_CLASS", "").split()
rows = "".join("<tr><th>%s</th><td><code>%s</code></td></tr>\n"
               % (html.escape(n), html.escape(os.environ.get(n, "")))
               for n in names)
others = sorted(k for k in os.environ if k not in names and not k.startswith(
    ("HTTP_", "SERVER_", "REQUEST_", "SCRIPT_", "GATEWAY_", "CONTEXT_", "DOCUMENT_",
     "REMOTE_", "QUERY_", "PATH", "UNIQUE_")))
rows += "".join("<tr><th>%s</th><td><code>%s</code></td></tr>\n"
                % (html.escape(k), html.escape(os.environ[k])) for k in others)
verdict = ("This session used multi-factor authentication."
           if MFA in classes else "This session did not use multi-factor authentication.")
print("Content-Type: text/html; charset=utf-8")
print("Cache-Control: no-store")
print()
print("""<!DOCTYPE html><html><head><title>Your session</title></head><body>
<h1>Your session</h1><p id="verdict">%s</p>
<table id="vars">%s</table>
<p><a href="/saml/logout?return=/">Log out</a></p></body></html>""" % (html.escape(verdict), rows))
