#!/usr/bin/python3
# The variables page of the tests: the CGI environment as JSON.
import json, os
body = json.dumps(dict(os.environ), sort_keys=True)
print("Content-Type: application/json")
print("Cache-Control: no-store")
print()
print(body)
