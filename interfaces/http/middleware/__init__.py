"""The ASGI middleware around the API, from the outside in as app.py adds it: security
headers, request ids, the access log, the request guard, API keys and rate limits, body
limits; and the connection limits of the HTTP protocol itself."""
