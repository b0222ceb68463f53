from devenv.cli import run

run()
