# graphite-web's settings (Debian's paths); carbon's whisper files come through volumes_from.
import os

SECRET_KEY = os.environ.get("GRAPHITE_SECRET_KEY", "devenv-development-only")
TIME_ZONE = "UTC"
LOG_ROTATION = False
DEFAULT_XFILES_FACTOR = 0
GRAPHITE_ROOT = "/usr/share/graphite-web"
CONF_DIR = "/etc/graphite"
STORAGE_DIR = "/var/lib/graphite/whisper"
STATIC_ROOT = "/usr/share/graphite-web/static"
LOG_DIR = "/var/log/graphite"
INDEX_FILE = "/var/lib/graphite/search_index"
WHISPER_DIR = "/var/lib/graphite/whisper"
# The points carbon holds in memory, not yet written to whisper.
CARBONLINK_HOSTS = ["carbon:7002"]
DATABASES = {
    "default": {
        "NAME": "/var/lib/graphite/graphite.db",
        "ENGINE": "django.db.backends.sqlite3",
    }
}
FUNCTION_PLUGINS = []
