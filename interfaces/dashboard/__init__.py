"""The operators' dashboard: static HTML, CSS and ES modules served by the API's own app at
`/`, reading and commanding through the same public REST API and event stream as any other
client. Nothing is built: the files under `static/` are what the browser runs."""
