"""KYC Desk settings: one module, every value from the environment (docs/configuration.md: the
variables and their defaults). With nothing set the app runs for development: SQLite, tasks
in-process, the provider sandboxes mounted. Production sets DEBUG=false, and then nothing insecure
has a default.
"""

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from providers.shareid.sandbox import credentials as _shareid_sandbox
from providers.solaris import sealing as _solaris_sealing
from providers.solaris.sandbox import credentials as _solaris_sandbox
from providers.veriff.sandbox import credentials as _veriff_sandbox

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


class _SecretFiles(environ.FileAwareMapping):
    """django-environ's `<NAME>_FILE` lookup, without the newline that ends most secret files."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return value.strip() if self.env.get(key + "_FILE") else value


class _Env(environ.FileAwareEnv):
    ENVIRON = _SecretFiles()


# Every variable may instead be given as `<NAME>_FILE`, the path of a file holding the value
# (container secrets: SECRET_KEY_FILE, VERIFF_API_SECRET_FILE, DATABASE_URL_FILE, …).
env = _Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-never-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    # No default on purpose: a production deployment must bring its own.
    SECRET_KEY = env("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

KYC_PUBLIC_URL = env("KYC_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
KYC_SANDBOX_ENABLED = env.bool("KYC_SANDBOX_ENABLED", default=DEBUG)

INSTALLED_APPS = [
    # The Django admin, as the staff back-office: its site is kyc.backoffice.site.BackOfficeSite.
    "kyc.backoffice.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # 2FA backup codes (kyc/backup_codes.py)
    "axes",
    "kyc",
    "webhooks",
    "api",
    "notifications",
    "providers.veriff.sandbox",
    "providers.solaris",  # its webhook subscriptions (models) and `solaris_webhooks`
    "providers.solaris.sandbox",
    "providers.shareid.sandbox",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its response.
    "axes.middleware.AxesMiddleware",
]
# Provider webhooks (/webhooks/, webhooks/wsgi.py) are served with only these: a delivery has no
# session, user, CSRF token, language or page, and is the busiest path the app has. Its answers
# still carry the site's security headers (HTTPS redirect, HSTS, nosniff, CSP).
WEBHOOK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The dev server is threaded and, with tasks in-process, the sandbox's webhook to the app and
    # the app's media download from the sandbox are requests to the same server while another
    # request is open. IMMEDIATE transactions plus WAL avoid SQLite's "database is locked" on
    # a read lock being upgraded, and the timeout lets writers queue instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static, media --------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes first: it refuses a locked-out username/IP before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en"
# The end-user flow is translated (templates/flow/, kyc/flow/); the back-office stays English.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG

# Evidence files (document photos, selfies, videos) are regulated personal data. They live in
# private storage and are never given a public URL: staff see them only through permission-checked,
# audited views. MEDIA_URL is deliberately not routed.
MEDIA_ROOT = env("KYC_MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=None)
# Unset broker = development: tasks run in-process, in the caller's thread.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only once it finished, and re-delivered when its worker dies: every task
# is written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection before and after each task unless this is
# set: a new PostgreSQL connection (a backend process forked, authenticated, set up) per task cost
# more CPU than the task itself (benchmarks/decision_latency.py). With it, connections live as
# CONN_MAX_AGE says, as in a web request: config/celery.py closes the obsolete or broken ones
# around each task, as Django does around each request.
CELERY_DB_REUSE_MAX = 10**9
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How long a task taken by a worker that died stays invisible before Redis hands it out again. It
# must exceed the longest retry countdown (kyc.tasks.BACKOFF_MAX); reconciliation re-queues
# stuck work well before it runs out.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

# A session's new files are downloaded by its media listing task, one after the other (one task per
# decision instead of five: benchmarks/decision_latency.py); false = one media_download task per
# file, spread over the workers (e.g. many large videos per session). Failed files get their own
# task either way.
KYC_MEDIA_DOWNLOAD_IN_LISTING = env.bool("KYC_MEDIA_DOWNLOAD_IN_LISTING", default=True)
# The decision webhook's task lists (and so downloads) the session's media itself once the
# decision is committed, instead of queuing a listing task behind every task already waiting;
# false = a session_media_sync task of its own (kyc/tasks.py, media_sync_after).
KYC_MEDIA_SYNC_IN_DECISION_TASK = env.bool("KYC_MEDIA_SYNC_IN_DECISION_TASK", default=True)

# A received webhook's processing is queued by a thread of the receiving process, together with the
# others that arrive within this many milliseconds, at most this many a message (webhooks/dispatch.py;
# benchmarks/webhook_ingest.py). 0 = one message per event, sent as the request ends.
KYC_WEBHOOK_ENQUEUE_LINGER_MS = env.int("KYC_WEBHOOK_ENQUEUE_LINGER_MS", default=50)
KYC_WEBHOOK_ENQUEUE_BATCH = env.int("KYC_WEBHOOK_ENQUEUE_BATCH", default=100)
# Deliveries that fail authentication (anyone's to send) are kept as a bounded trace, counted in the
# shared cache (webhooks/limits.py): a body prefix of at most KYC_WEBHOOK_REJECTED_BODY_PREFIX bytes
# (with the whole body's size and SHA-256); per source address at most
# KYC_WEBHOOK_REJECTED_PER_ADDRESS of them per KYC_WEBHOOK_REJECTED_WINDOW seconds, then 429; and, for
# all senders together per hour, KYC_WEBHOOK_REJECTED_BODY_BYTES_PER_HOUR bytes of prefixes (then
# headers, size and hash only) and KYC_WEBHOOK_REJECTED_ROWS_PER_HOUR rows (then nothing is stored).
KYC_WEBHOOK_REJECTED_BODY_PREFIX = env.int("KYC_WEBHOOK_REJECTED_BODY_PREFIX", default=1024)
KYC_WEBHOOK_REJECTED_PER_ADDRESS = env.int("KYC_WEBHOOK_REJECTED_PER_ADDRESS", default=30)
KYC_WEBHOOK_REJECTED_WINDOW = env.int("KYC_WEBHOOK_REJECTED_WINDOW", default=600)
KYC_WEBHOOK_REJECTED_BODY_BYTES_PER_HOUR = env.int(
    "KYC_WEBHOOK_REJECTED_BODY_BYTES_PER_HOUR", default=4 * 2**20
)
KYC_WEBHOOK_REJECTED_ROWS_PER_HOUR = env.int("KYC_WEBHOOK_REJECTED_ROWS_PER_HOUR", default=5000)

# Periodic work, run by `celery -A config beat` (README, "Operations").
KYC_RECONCILE_EVERY = env.int("KYC_RECONCILE_EVERY", default=300)  # seconds
KYC_PURGE_EVERY = env.int("KYC_PURGE_EVERY", default=24 * 3600)  # seconds
# Polling (the providers that must be polled, ShareID; kyc/operations/polling.py): a tick every
# KYC_POLL_TICK seconds claims the due sessions, KYC_POLL_BATCH at a time, and fetches them in
# KYC_POLL_THREADS threads, batch after batch until nothing is due or KYC_POLL_TICK_BUDGET seconds
# are spent. A claimed session comes due again after KYC_POLL_LEASE seconds if its poller died
# mid-fetch. A session is polled until the provider's lifetime plus KYC_POLL_LIFETIME_GRACE seconds
# (an analysis still running), then closed. `manage.py poll_sessions` runs the same ticks without
# Celery (docs/operations.md).
KYC_POLL_TICK = env.float("KYC_POLL_TICK", default=1.0)  # seconds
KYC_POLL_TICK_BUDGET = env.float("KYC_POLL_TICK_BUDGET", default=10.0)  # seconds
KYC_POLL_BATCH = env.int("KYC_POLL_BATCH", default=200)
KYC_POLL_THREADS = env.int("KYC_POLL_THREADS", default=16)
KYC_POLL_LEASE = env.int("KYC_POLL_LEASE", default=60)  # seconds
KYC_POLL_LIFETIME_GRACE = env.int("KYC_POLL_LIFETIME_GRACE", default=15 * 60)  # seconds
CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "kyc.tasks.reconcile", "schedule": float(KYC_RECONCILE_EVERY)},
    "retention-purge": {"task": "kyc.tasks.retention_purge", "schedule": float(KYC_PURGE_EVERY)},
    # A tick not taken within its period is dropped unrun by the worker that receives it: ticks
    # never run late one after the other, and each finds the whole backlog in the database anyway.
    "poll-due": {
        "task": "kyc.tasks.poll_due",
        "schedule": KYC_POLL_TICK,
        "options": {"expires": KYC_POLL_TICK},
    },
}

# --- Providers ------------------------------------------------------------------------------
# One dict, django-payments' PAYMENT_VARIANTS: name -> (dotted path of the provider class, its
# options). The registry (providers/registry.py) builds each provider from its options, so a
# provider reads no global setting; adding a provider is an entry here, and which providers are
# enabled is which entries there are. Each entry's options are read from the environment below.
# A provider pointing at its sandbox, or without its key or secret, is refused unless
# KYC_ALLOW_SANDBOX_PROVIDERS is on: `manage.py check` fails (kyc/checks.py), gunicorn does not
# start (config/wsgi.py), and webhooks and provider calls are refused (providers/registry.py). On by
# default in development only; a staging deployment that runs on the sandboxes on purpose
# (DEBUG=false) sets it to true.
KYC_ALLOW_SANDBOX_PROVIDERS = env.bool("KYC_ALLOW_SANDBOX_PROVIDERS", default=DEBUG)

# Veriff (providers/veriff/README.md). Without VERIFF_API_URL it is the local sandbox, with the
# sandbox's own integration credentials: not secrets, they open nothing but the sandbox.
_VERIFF_SANDBOX_URL = KYC_PUBLIC_URL + _veriff_sandbox.API_PATH
_veriff_api_url = env("VERIFF_API_URL", default=_VERIFF_SANDBOX_URL).rstrip("/")
_veriff_on_sandbox = _veriff_api_url == _VERIFF_SANDBOX_URL
_veriff_signature_scheme = env("VERIFF_SIGNATURE_SCHEME", default="hmac")
if _veriff_signature_scheme not in ("hmac", "legacy"):
    raise ImproperlyConfigured("VERIFF_SIGNATURE_SCHEME must be 'hmac' or 'legacy'")
_VERIFF = {
    "api_url": _veriff_api_url,
    "api_key": env("VERIFF_API_KEY", **({"default": _veriff_sandbox.API_KEY} if _veriff_on_sandbox else {})),
    "api_secret": env(
        "VERIFF_API_SECRET", **({"default": _veriff_sandbox.API_SECRET} if _veriff_on_sandbox else {})
    ),
    # Secret rotation: the secrets replaced recently, still accepted on webhooks and responses
    # while Veriff switches over; requests are always signed with VERIFF_API_SECRET.
    "previous_secrets": env.list("VERIFF_API_SECRETS_PREVIOUS", default=[]),
    # hmac (X-HMAC-SIGNATURE) or legacy (X-SIGNATURE): signs requests and verifies webhooks.
    "signature_scheme": _veriff_signature_scheme,
    "timeout": env.float("VERIFF_TIMEOUT", default=10.0),  # seconds, per request
}

# Solaris (providers/solaris/README.md). Without SOLARIS_API_URL it is the local sandbox (which
# serves Solaris's auth host and API host under one prefix), with the sandbox's own OAuth2 client:
# not secrets, they open nothing but the sandbox.
_SOLARIS_SANDBOX_URL = KYC_PUBLIC_URL + _solaris_sandbox.BASE_PATH
_solaris_api_url = env("SOLARIS_API_URL", default=_SOLARIS_SANDBOX_URL).rstrip("/")
_solaris_on_sandbox = _solaris_api_url == _SOLARIS_SANDBOX_URL
_SOLARIS = {
    "api_url": _solaris_api_url,
    # Solaris's token endpoint is on its own host (https://auth.solarisbank.de).
    "auth_url": env("SOLARIS_AUTH_URL", default=_solaris_api_url if _solaris_on_sandbox else "").rstrip("/"),
    "client_id": env(
        "SOLARIS_CLIENT_ID",
        **({"default": _solaris_sandbox.CLIENT_ID} if _solaris_on_sandbox else {"default": ""}),
    ),
    "client_secret": env(
        "SOLARIS_CLIENT_SECRET",
        **({"default": _solaris_sandbox.CLIENT_SECRET} if _solaris_on_sandbox else {"default": ""}),
    ),
    # The identification method asked for (POST /v1/persons/{id}/identifications `method`).
    "identification_method": env("SOLARIS_IDENTIFICATION_METHOD", default="idnow"),
    "timeout": env.float("SOLARIS_TIMEOUT", default=10.0),  # seconds, per request
}
# The Fernet keys that seal the webhook subscriptions' secrets in the database (the first seals,
# every one opens: rotation, docs/operations.md). In development a key derived from SECRET_KEY, so
# that a fresh clone needs no configuration; never in production, where rotating SECRET_KEY (a
# routine measure after a leak) would then make every stored secret unreadable and every delivery
# refused: there the variable must be set (the `solaris` start-up check says so).
_SOLARIS["webhook_secret_keys"] = env.list(
    "SOLARIS_WEBHOOK_SECRET_KEYS", default=[_solaris_sealing.key_from_passphrase(SECRET_KEY)] if DEBUG else []
)

# ShareID (providers/shareid/README.md). Without SHAREID_API_URL it is the local sandbox, with the
# sandbox's own business credentials: not secrets, they open nothing but the sandbox. ShareID
# publishes no {API_URL}: its contact gives it, with the business hash and API key.
_SHAREID_SANDBOX_URL = KYC_PUBLIC_URL + _shareid_sandbox.BASE_PATH
_shareid_api_url = env("SHAREID_API_URL", default=_SHAREID_SANDBOX_URL).rstrip("/")
_shareid_on_sandbox = _shareid_api_url == _SHAREID_SANDBOX_URL
_SHAREID = {
    "api_url": _shareid_api_url,
    "business_hash": env(
        "SHAREID_BUSINESS_HASH",
        **({"default": _shareid_sandbox.BUSINESS_HASH} if _shareid_on_sandbox else {"default": ""}),
    ),
    "api_key": env(
        "SHAREID_API_KEY",
        **({"default": _shareid_sandbox.API_KEY} if _shareid_on_sandbox else {"default": ""}),
    ),
    # The page that runs ShareID's SDK for one single-use token ({token}): the sandbox's hosted
    # page in development; in production the page ShareID's contact names for the web SDK.
    "sdk_url": env(
        "SHAREID_SDK_URL", default=_SHAREID_SANDBOX_URL + "/sdk/?token={token}" if _shareid_on_sandbox else ""
    ),
    # Seconds an SDK token (one onboarding) stays usable: ShareID accepts 300 to 3600.
    "session_duration": env.int("SHAREID_SESSION_DURATION", default=3600),
    # Seconds between two fetches of one applicant's result: ShareID asks for 5 at least, and the
    # provider never goes below that whatever is set.
    "poll_seconds": env.float("SHAREID_POLL_SECONDS", default=5.0),
    # Whether ShareID is given our callback URL (a hint only: polling alone decides every session).
    "callback": env.bool("SHAREID_CALLBACK", default=True),
    "timeout": env.float("SHAREID_TIMEOUT", default=10.0),  # seconds, per request
    # The paths where ShareID's public material disagrees with itself or is silent (the README,
    # "Endpoints"): overridable without a code change.
    "onboarding_start_path": env("SHAREID_ONBOARDING_START_PATH", default="/flow/onboarding/auth/business"),
    "onboarding_fetch_token_path": env(
        "SHAREID_ONBOARDING_FETCH_TOKEN_PATH", default="/flow/onboarding/fetch/auth/business"
    ),
    "onboarding_fetch_path": env("SHAREID_ONBOARDING_FETCH_PATH", default="/flow/onboarding/fetch"),
    # The largest callback body accepted, in bytes: it carries four base64 images.
    "callback_max_bytes": env.int("SHAREID_CALLBACK_MAX_BYTES", default=40 * 1024 * 1024),
}

# Every provider KYC Desk knows, and which of them are enabled (KYC_ENABLED_PROVIDERS). In
# development (the sandboxes on) every provider with a sandbox is enabled, so that `make run`
# shows them all; elsewhere Veriff alone unless the operator names more, each of which must then
# be configured for real (kyc/checks.py).
_ALL_PROVIDERS = {
    "veriff": ("providers.veriff.VeriffProvider", _VERIFF),
    "solaris": ("providers.solaris.provider.SolarisProvider", _SOLARIS),
    "shareid": ("providers.shareid.provider.ShareIDProvider", _SHAREID),
}
KYC_ENABLED_PROVIDERS = env.list(
    "KYC_ENABLED_PROVIDERS", default=["veriff", "solaris", "shareid"] if KYC_SANDBOX_ENABLED else ["veriff"]
)
if _unknown_providers := set(KYC_ENABLED_PROVIDERS) - set(_ALL_PROVIDERS):
    raise ImproperlyConfigured(
        f"KYC_ENABLED_PROVIDERS: unknown provider(s) {sorted(_unknown_providers)}; "
        f"known: {sorted(_ALL_PROVIDERS)}"
    )
KYC_PROVIDERS = {name: entry for name, entry in _ALL_PROVIDERS.items() if name in KYC_ENABLED_PROVIDERS}
# The origins of each provider's hosted flow, which our forms may post and redirect to (the
# Content Security Policy's form-action, below); a sandbox is on our own origin.
_HOSTED_FLOW_ORIGINS = {
    "veriff": ["https://*.veriff.me", "https://*.veriff.com"],
    # Solaris's identification URL is IDnow's (go.idnow.de, go.test.idnow.de).
    "solaris": ["https://*.idnow.de"],
    # ShareID's SDK page, where SHAREID_SDK_URL points (its origin).
    "shareid": [_o for _o in [urlsplit(_SHAREID["sdk_url"])._replace(path="", query="").geturl()] if _o],
}
# The provider a start request uses when it names none; one of KYC_PROVIDERS (kyc/checks.py).
KYC_DEFAULT_PROVIDER = env("KYC_DEFAULT_PROVIDER", default="veriff")

# Paths of the mounted sandboxes that are a provider's server-to-server API (called by our worker,
# authenticated by signature), served by the short WSGI stack as webhooks are (webhooks/wsgi.py).
# Each sandbox declares its own.
KYC_SANDBOX_SERVER_PATHS = (
    [*_veriff_sandbox.SERVER_PATHS, *_solaris_sandbox.SERVER_PATHS, *_shareid_sandbox.SERVER_PATHS]
    if KYC_SANDBOX_ENABLED
    else []
)

# Sandbox clock: every delay and lifetime of a provider sandbox (Veriff's 7 days, its hourly
# webhook retries) is multiplied by this, so tests can run a week in seconds.
SIM_TIME_SCALE = env.float("SIM_TIME_SCALE", default=1.0)

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# The loggers that name a request (404s and 5xx, CSRF refusals, runserver's request lines) write
# its URL with query values and bearer links redacted (config/request_log.py); gunicorn's access
# log does the same through config/gunicorn.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_urls": {"()": "config.request_log.RedactUrls"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # Django's own (django.utils.log.DEFAULT_LOGGING), declared again with its handler below.
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "level": "INFO"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.request": {"filters": ["redact_urls"]},
        "django.security.csrf": {"filters": ["redact_urls"]},
        # Configuring a logger drops its handlers: Django's are given back here.
        "django.server": {
            "handlers": ["django.server"],
            "filters": ["redact_urls"],
            "level": "INFO",
            "propagate": False,
        },
    },
}

# --- REST API (api/, notifications/) ------------------------------------------------------------
# Throttle counters live in the cache: point CACHE_URL at Redis so all processes share them.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# How many proxies of our own stand in front of the app, each appending to X-Forwarded-For; 0 =
# the header is ignored. Every throttle reads the client's address by this (config/client_address.py).
KYC_TRUSTED_PROXY_COUNT = env.int("KYC_TRUSTED_PROXY_COUNT", default=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "api.authentication.StaffSessionAuthentication",
    ],
    # Nothing is open by default; every view names the scope it needs (api/permissions.py).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiClientRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiCursorPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "api.pagination.StrictFilterBackend",
        "api.pagination.StrictOrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser, refusing what made it crash: infinities, nesting too deep (api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["api.parsers.ApiJSONParser"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,  # JSON only: no ?format=
    # The client's address for throttles, by the site's one rule (config/client_address.py).
    "NUM_PROXIES": KYC_TRUSTED_PROXY_COUNT,
}
# A CSRF refusal under /api/ answers in the API's error format.
CSRF_FAILURE_VIEW = "api.errors.csrf_failure"
# Requests per API key (per user for staff sessions); DRF's "<n>/<second|minute|hour|day>".
KYC_API_RATE = env("KYC_API_RATE", default="1200/minute")
# Failed API authentications (unknown, revoked or malformed keys) allowed per source address; past
# it the address gets 429 with Retry-After until its oldest failure leaves the window.
KYC_API_AUTH_FAILURE_RATE = env("KYC_API_AUTH_FAILURE_RATE", default="30/minute")
# How long an Idempotency-Key is remembered, and after how long a request that holds one and never
# finished (its worker died) lets a retry take it over.
KYC_IDEMPOTENCY_TTL = env.int("KYC_IDEMPOTENCY_TTL", default=24 * 3600)
KYC_IDEMPOTENCY_LOCK_TIMEOUT = env.int("KYC_IDEMPOTENCY_LOCK_TIMEOUT", default=60)
# Starting a verification waits up to this many seconds for the provider's hosted URL.
KYC_API_START_WAIT = env.float("KYC_API_START_WAIT", default=3.0)
# /api/schema/ and /api/docs/ need a key or a staff login unless this is on.
KYC_API_DOCS_PUBLIC = env.bool("KYC_API_DOCS_PUBLIC", default=False)
# Whether a customer whose verification was declined may start a new one by themselves (end-user
# link or API). After expired or abandoned a new session is always allowed.
KYC_RESTART_AFTER_DECLINE = env.bool("KYC_RESTART_AFTER_DECLINE", default=True)
# New verification sessions one customer may start (end-user flow, API) in any 24 hours; 0 = no
# cap. Staff lift it for a customer from the back-office ("Allow more sessions today").
KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY = env.int("KYC_MAX_SESSIONS_PER_CUSTOMER_PER_DAY", default=10)
# ...and only for these decline reasons (kyc.selectors): a kind the provider gives its reason
# codes ("quality": photos, document; "fraud": tampering, fraud, abuse) or one code as
# "<provider>:<code>" (e.g. veriff:105). A reason not listed, or no reason, waits for a person.
KYC_RESTART_ALLOWED_REASONS = env.list("KYC_RESTART_ALLOWED_REASONS", default=["quality"])

# Outbound notifications: retried with exponential backoff (base, doubling, capped) for a window.
NOTIFICATIONS_RETRY_BASE = env.float("NOTIFICATIONS_RETRY_BASE", default=30.0)
NOTIFICATIONS_RETRY_MAX = env.float("NOTIFICATIONS_RETRY_MAX", default=3600.0)
NOTIFICATIONS_RETRY_WINDOW = env.float("NOTIFICATIONS_RETRY_WINDOW", default=24 * 3600.0)
NOTIFICATIONS_TIMEOUT = env.float("NOTIFICATIONS_TIMEOUT", default=10.0)
NOTIFICATIONS_REQUIRE_HTTPS = env.bool("NOTIFICATIONS_REQUIRE_HTTPS", default=not DEBUG)
# Notifications go to public addresses only (notifications/egress.py). An operator who delivers to an
# internal host on purpose lists its name or its network (CIDRs, e.g. 10.1.2.0/24); an invalid CIDR
# stops start-up.
NOTIFICATIONS_ALLOWED_HOSTS = env.list("NOTIFICATIONS_ALLOWED_HOSTS", default=[])
NOTIFICATIONS_ALLOWED_NETWORKS = [
    str(ipaddress.ip_network(cidr, strict=False))
    for cidr in env.list("NOTIFICATIONS_ALLOWED_NETWORKS", default=[])
]
# After a secret rotation, seconds during which the old secret still signs beside the new one.
NOTIFICATIONS_SECRET_OVERLAP = env.int("NOTIFICATIONS_SECRET_OVERLAP", default=24 * 3600)
# Run `celery -A config beat` next to the workers for this (or cron `manage.py notifications_send_due`).
CELERY_BEAT_SCHEDULE |= {
    "notifications-send-due": {"task": "notifications.tasks.deliveries_send_due", "schedule": 60.0},
    "idempotency-records-purge": {"task": "api.tasks.idempotency_records_purge", "schedule": 3600.0},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "KYC Desk API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (BASE_DIR / "api" / "docs" / "description.md").read_text(),
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayOperationId": False},
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "KycStatusEnum": "kyc.models.Customer.KycStatus",
        "VerificationStatusEnum": "kyc.status.CHOICES",
    },
}

# --- Security ---------------------------------------------------------------------------------
# Production (DEBUG=false) passes `manage.py check --deploy` without a warning
# (tests/test_security_settings.py). Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe over plain HTTP: the health checks answer there instead of redirecting.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp). No inline script or style anywhere: the admin, the end-user
# flow (static/flow/) and the sandbox pages load their assets from our own origin only. Forms may
# post to us and be redirected to the enabled providers' hosted flows (the sandboxes are ours).
KYC_CSP_FORM_ACTION = env.list(
    "KYC_CSP_FORM_ACTION",
    default=[origin for name in KYC_PROVIDERS for origin in _HOSTED_FLOW_ORIGINS.get(name, [])],
)
# Device monitoring (a provider that wants the end user's device fingerprint: Solaris's Seon,
# providers/solaris/README.md). The start page loads this script, which puts the fingerprint in its
# form's `device-data` field, and the start hands it to the provider (SessionRequest.device_data).
# Unset: no script, nothing sent. The sandbox's stand-in: /static/flow/device-fingerprint-sandbox.js.
KYC_DEVICE_FINGERPRINT_SCRIPT = env("KYC_DEVICE_FINGERPRINT_SCRIPT", default="")
# A script on another origin (the vendor's) is allowed by the policy below, to load and to call home.
_fingerprint_url = urlsplit(KYC_DEVICE_FINGERPRINT_SCRIPT)
_FINGERPRINT_ORIGINS = (
    [f"{_fingerprint_url.scheme}://{_fingerprint_url.netloc}"] if _fingerprint_url.netloc else []
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", *_FINGERPRINT_ORIGINS],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *_FINGERPRINT_ORIGINS],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *KYC_CSP_FORM_ACTION],
    }
}

# --- Retention (README, "Operations") ---------------------------------------------------------
# Evidence files (photos, videos) are deleted this many days after the session's final decision.
KYC_RETENTION_MEDIA_DAYS = env.int("KYC_RETENTION_MEDIA_DAYS", default=90)
# The decision record (verified person and document data, raw provider payloads, stored webhook
# bodies) keeps its personal data for the AML retention period (EU AMLD: five years), then only
# the minimal record stays: status, codes, times, digests, the audit trail.
KYC_RETENTION_RECORD_DAYS = env.int("KYC_RETENTION_RECORD_DAYS", default=5 * 365)
# Webhooks that were not authentic or not readable carry nothing we need after this.
KYC_RETENTION_REJECTED_WEBHOOK_DAYS = env.int("KYC_RETENTION_REJECTED_WEBHOOK_DAYS", default=30)

# --- Reconciliation (kyc/reconcile.py) ---------------------------------------------------------
# A session with no news for this long is asked at the provider (a missed webhook costs minutes).
KYC_RECONCILE_QUIET_AFTER = env.int("KYC_RECONCILE_QUIET_AFTER", default=15 * 60)  # seconds
# Work (an inbound event, a media download, a provider session) queued or claimed this long ago
# and not done is queued again: its task was lost with a worker or a broker.
KYC_RECONCILE_STUCK_AFTER = env.int("KYC_RECONCILE_STUCK_AFTER", default=10 * 60)  # seconds

# --- Metrics ----------------------------------------------------------------------------------
# /metrics (Prometheus text format) answers a scraper presenting `Authorization: Bearer <token>`,
# and staff allowed to see it; nobody else.
KYC_METRICS_TOKEN = env("KYC_METRICS_TOKEN", default="")

# End-user start links (/verify/start/<token>/) are signed and expire after this many seconds.
KYC_LINK_MAX_AGE = env.int("KYC_LINK_MAX_AGE", default=7 * 24 * 3600)

# --- Staff back-office (kyc.backoffice, kyc.reviews) -----------------------------------------
# Staff sign in with a password and a TOTP code (django-otp). Required whenever DEBUG is off;
# set KYC_STAFF_2FA_REQUIRED=true to require it in development too.
KYC_STAFF_2FA_REQUIRED = env.bool("KYC_STAFF_2FA_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="KYC Desk")
# The admin pages of 2FA devices show no secrets (TOTP keys, backup codes), even to a superuser.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Failed-login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one username from
# one address, that pair is locked out for AXES_COOLOFF_TIME hours (locking by username alone
# would let anyone lock a colleague out; by address alone, lock out a whole office behind NAT).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_TIME", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"

# Which cases a human must review (the queue). Rules, any of:
#   declined, resubmission_requested, review  - the provider said so;
#   approved_high_risk - approvals of customers whose country is in KYC_HIGH_RISK_COUNTRIES;
#   approved           - every approval ("always review");
#   approved_flagged   - approvals with a risk flag of a kind in KYC_REVIEW_HOLD_ON_FLAGS, and
#                        approvals of a customer with an unresolved or true-match screening hit.
# Overrides waiting for a second approver are always in the queue.
KYC_REVIEW_POLICY = env.list(
    "KYC_REVIEW_POLICY",
    default=["declined", "resubmission_requested", "review", "approved_high_risk", "approved_flagged"],
)
# The same names as kyc.reviews.policy.RULES (a test keeps them equal): a typo fails at start-up.
_REVIEW_RULES = {
    "declined",
    "resubmission_requested",
    "review",
    "approved_high_risk",
    "approved",
    "approved_flagged",
}
# Risk flag kinds on a provider decision that hold an approval for review (approved_flagged):
# risk_label (a provider fraud label), pep_sanctions (a PEP/sanctions match on the decision),
# matched_session (the same face on another session). Empty: flags are shown but hold nothing.
KYC_REVIEW_HOLD_ON_FLAGS = env.list(
    "KYC_REVIEW_HOLD_ON_FLAGS", default=["risk_label", "pep_sanctions", "matched_session"]
)
if set(KYC_REVIEW_HOLD_ON_FLAGS) - {"risk_label", "pep_sanctions", "matched_session"}:
    raise ImproperlyConfigured(
        "KYC_REVIEW_HOLD_ON_FLAGS: known kinds are risk_label, pep_sanctions, matched_session"
    )
if set(KYC_REVIEW_POLICY) - _REVIEW_RULES:
    raise ImproperlyConfigured(
        f"KYC_REVIEW_POLICY: unknown rule(s) {sorted(set(KYC_REVIEW_POLICY) - _REVIEW_RULES)}; "
        f"known: {sorted(_REVIEW_RULES)}"
    )
# Which staff approvals take effect only when a second person (a supervisor) confirms them, any of:
#   held_by_policy  - the review policy holds this customer's approvals (e.g. a high-risk country);
#   provider_review - the provider left the case to us (`review`);
#   earlier_decline - the customer was declined before (by the provider or by staff).
# An override of the provider's decision always needs a second person.
KYC_FOUR_EYES_APPROVALS = env.list(
    "KYC_FOUR_EYES_APPROVALS", default=["held_by_policy", "provider_review", "earlier_decline"]
)
_FOUR_EYES_RULES = {"held_by_policy", "provider_review", "earlier_decline"}
if _unknown := set(KYC_FOUR_EYES_APPROVALS) - _FOUR_EYES_RULES:
    raise ImproperlyConfigured(
        f"KYC_FOUR_EYES_APPROVALS: unknown rule(s) {sorted(_unknown)}; known: {sorted(_FOUR_EYES_RULES)}"
    )
# ISO 3166-1 alpha-2. The default is FATF's "call for action" list (Iran, North Korea, Myanmar);
# the real list is a compliance decision of the business.
KYC_HIGH_RISK_COUNTRIES = [c.upper() for c in env.list("KYC_HIGH_RISK_COUNTRIES", default=["IR", "KP", "MM"])]

# The dashboard's figures are recomputed at most this often (seconds; 0 = on every view).
KYC_DASHBOARD_CACHE_SECONDS = env.int("KYC_DASHBOARD_CACHE_SECONDS", default=60)

# Email to customers (the verification link), configured by one URL (django-environ: EMAIL_BACKEND,
# EMAIL_HOST, EMAIL_PORT, … from e.g. smtp+tls://user:pass@host:587). Development prints them.
globals().update(env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="KYC Desk <kyc@example.com>")

# The review queue's SLA (kyc/casework/sla.py): a case is late, then overdue, this many hours after
# it entered the queue (the provider's result); the queue colours, filters and counts them.
KYC_SLA_LATE_HOURS = env.int("KYC_SLA_LATE_HOURS", default=24)
KYC_SLA_OVERDUE_HOURS = env.int("KYC_SLA_OVERDUE_HOURS", default=72)

# --- Solaris sandbox (providers/solaris/README.md, "Sandbox") ---------------------------------
# How long a token of the sandbox's /oauth2/token lives, in seconds before SIM_TIME_SCALE
# (Solaris: one hour; its example answers expires_in 3599).
SOLARIS_SANDBOX_TOKEN_SECONDS = env.int("SOLARIS_SANDBOX_TOKEN_SECONDS", default=3599)
# How long an identification's link stays usable once issued, in seconds before SIM_TIME_SCALE; then
# it is `expired`. IDnow's own lifetime is not published: a week, as Veriff's sessions.
SOLARIS_SANDBOX_LINK_SECONDS = env.int("SOLARIS_SANDBOX_LINK_SECONDS", default=7 * 24 * 3600)

# --- ShareID sandbox (providers/shareid/README.md, "Sandbox") ---------------------------------
# Seconds, before SIM_TIME_SCALE, from the end user's last step to a result the fetch returns
# (until then: "not ready"), and the life of a fetch token (ShareID: 10 minutes).
SHAREID_SANDBOX_ANALYSIS_SECONDS = env.float("SHAREID_SANDBOX_ANALYSIS_SECONDS", default=5.0)
SHAREID_SANDBOX_FETCH_TOKEN_SECONDS = env.int("SHAREID_SANDBOX_FETCH_TOKEN_SECONDS", default=600)

# --- The inbound event store's processor ----------------------------------------------------
# What applies a stored webhook event (webhooks/processing.py, EventProcessor): the store itself
# knows nothing of the KYC domain.
WEBHOOKS_EVENT_PROCESSOR = "kyc.operations.inbound.inbound_event_processor"
