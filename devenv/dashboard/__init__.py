"""`devenv dashboard`: a local web page showing the project's services, live from the engine's
events, with their logs and buttons to restart and stop them (server.py), plus what the last `up`
did (lastup.py). The page is one static HTML file (static/index.html): no build step."""
