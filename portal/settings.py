"""Settings for PRR Portal, read from the environment.

Unset variables give the embedded defaults (SQLite, a filesystem Celery broker, local file
storage); setting DATABASE_URL / CELERY_BROKER_URL / STORAGE_BACKEND switches to the
production parts. Test-only differences live in ``portal/settings_test.py``.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_list, env_map, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode-0123456789abcdef"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Public base URL, used in notification e-mails and webhook payloads.
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mozilla_django_oidc",
    "csp",
    "accounts",
    "services",
    "controls",
    "audit",
    "reviews",
    "evidence",
    "collection",
    "gate",
    "exports",
    "dashboards",
    "notifications",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.input_guard.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "csp.context_processors.nonce",
                "accounts.context_processors.portal",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    try:
        _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
    if _db["ENGINE"] not in {"django.db.backends.postgresql", "django.db.backends.sqlite3"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL uses {_db['ENGINE']}; only postgresql:// and sqlite:// are supported."
        )
    _db["CONN_HEALTH_CHECKS"] = True
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# OIDC single sign-on: enabled when a client id is configured.
OIDC_ENABLED = bool(env_str("OIDC_RP_CLIENT_ID", ""))
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.insert(0, "accounts.oidc.PortalOIDCBackend")
    OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = "RS256"
    OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
    OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile groups")
# Claim that carries the user's groups, and how groups map to portal roles / teams.
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_GROUP_ROLE_MAP = env_map("OIDC_GROUP_ROLE_MAP")
OIDC_TEAM_GROUP_PREFIX = env_str("OIDC_TEAM_GROUP_PREFIX", "prr-team-")

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
if STORAGE_BACKEND not in {"local", "s3"}:
    raise ImproperlyConfigured(f"STORAGE_BACKEND={STORAGE_BACKEND!r}; use 'local' or 's3'.")
if STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("STORAGE_S3_BUCKET"),
            "region_name": env_str("STORAGE_S3_REGION", "") or None,
            "endpoint_url": env_str("STORAGE_S3_ENDPOINT_URL", "") or None,
            "default_acl": None,
            "file_overwrite": False,
            "object_parameters": {"ServerSideEncryption": "aws:kms"},
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Signed checkpoints of the audit chain head (audit/checkpoints.py), kept outside the database:
# in production an S3 bucket created with Object Lock, each object locked in COMPLIANCE mode.
AUDIT_CHECKPOINT_S3_BUCKET = env_str("AUDIT_CHECKPOINT_S3_BUCKET", "")
if AUDIT_CHECKPOINT_S3_BUCKET:
    STORAGES["audit_checkpoints"] = {
        "BACKEND": "audit.storage.CheckpointS3Storage",
        "OPTIONS": {
            "bucket_name": AUDIT_CHECKPOINT_S3_BUCKET,
            "region_name": env_str("AUDIT_CHECKPOINT_S3_REGION", "") or None,
            "endpoint_url": env_str("AUDIT_CHECKPOINT_S3_ENDPOINT_URL", "") or None,
            "location": env_str("AUDIT_CHECKPOINT_S3_PREFIX", "audit-checkpoints"),
            "default_acl": None,
            "file_overwrite": False,
            "object_lock_retention_days": env_int(
                "AUDIT_CHECKPOINT_RETENTION_DAYS", 400, minimum=1
            ),
        },
    }
else:
    STORAGES["audit_checkpoints"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "audit-checkpoints"},
    }
# Upload size limit for evidence files (bytes).
EVIDENCE_MAX_UPLOAD_BYTES = env_int("EVIDENCE_MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1)
# ZIP evidence is inspected in memory and refused past these limits (possible zip bombs): the
# entry count, the bytes it really inflates to, and that size over the archive's size.
EVIDENCE_ZIP_MAX_ENTRIES = env_int("EVIDENCE_ZIP_MAX_ENTRIES", 10_000, minimum=1)
EVIDENCE_ZIP_MAX_UNCOMPRESSED_BYTES = env_int(
    "EVIDENCE_ZIP_MAX_UNCOMPRESSED_BYTES", 100 * 1024 * 1024, minimum=1
)
EVIDENCE_ZIP_MAX_RATIO = env_int("EVIDENCE_ZIP_MAX_RATIO", 100, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security ---------------------------------------------------------------------------
PORTAL_HTTPS = env_bool("PORTAL_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = PORTAL_HTTPS
SESSION_COOKIE_SECURE = PORTAL_HTTPS
CSRF_COOKIE_SECURE = PORTAL_HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PORTAL_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PORTAL_HTTPS
SECURE_HSTS_PRELOAD = PORTAL_HTTPS
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Strict CSP: everything from the portal itself, scripts only with the per-request nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PRR Portal API",
    "DESCRIPTION": "Production readiness reviews, evidence and the deployment gate.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.split(":", 1)[0] not in {"redis", "rediss", "filesystem", "memory"}:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL={CELERY_BROKER_URL!r}: use redis://, rediss:// or filesystem://."
    )
if CELERY_BROKER_URL.startswith("filesystem"):
    _queue_dir = VAR_DIR / "celery-queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
    # The embedded broker's folders must exist before a worker or producer touches them.
    for _folder in (_queue_dir, VAR_DIR / "celery-processed", VAR_DIR / "celery-control"):
        _folder.mkdir(parents=True, exist_ok=True)
else:
    # A task not acknowledged within this window is redelivered to another worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 660, minimum=1)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "portal"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    "worker-heartbeat": {"task": "portal.heartbeat", "schedule": 60.0},
    # Sign the audit chain head so a cut-off tail is detectable (audit/checkpoints.py).
    "audit-checkpoint": {"task": "audit.tasks.audit_checkpoint", "schedule": 15 * 60.0},
    # Record approvals and waivers past their expiry (reads already treat them as expired).
    "reviews-expire-due": {"task": "reviews.expire_due", "schedule": 900},
    # Daily: tell owners about approvals expiring within 14 days and waivers about to expire.
    "notifications-scan-expiring": {"task": "notifications.scan_expiring", "schedule": 86400},
    # Forget replay-protection entries of OIDC tokens that have expired anyway.
    "gate-purge-jti": {"task": "gate.purge_seen_jti", "schedule": 3600.0},
    # Keep the portfolio dashboard's cached summary warm (it lives 5 minutes; CACHE_URL).
    "dashboard-summary": {
        "task": "dashboards.tasks.refresh_portfolio_summary",
        "schedule": 240.0,
    },
}
CELERY_IMPORTS = ["portal.tasks"]

# --- Cache ------------------------------------------------------------------------------
# API rate limits and the OIDC key cache live here: share it (Redis) when several web
# processes run, or each process counts on its own.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: use redis:// or rediss://.")
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- AWS --------------------------------------------------------------------------------
# Points boto3 at the bundled emulator in the demo and tests; unset for real AWS.
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL", "")

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not a logging level.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# --- E-mail -----------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "prr-portal@localhost")
# Outgoing webhooks (notifications app): plain http:// only when allowed (demo, tests);
# a failing endpoint is tried this many times with exponential backoff.
NOTIFICATIONS_WEBHOOK_ALLOW_HTTP = env_bool("NOTIFICATIONS_WEBHOOK_ALLOW_HTTP", DEBUG)
NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS = env_int("NOTIFICATIONS_WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
NOTIFICATIONS_WEBHOOK_TIMEOUT = env_int("NOTIFICATIONS_WEBHOOK_TIMEOUT", 10, minimum=1)

# --- CI gate and API tokens ---
# API callers: portal API tokens and GitHub Actions OIDC tokens (Bearer), then browser sessions.
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "gate.authentication.ApiTokenAuthentication",
    "gate.authentication.GitHubOidcAuthentication",
    "rest_framework.authentication.SessionAuthentication",
]
REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = [
    "rest_framework.permissions.IsAuthenticated",
    "gate.permissions.TokenScope",
]
REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"] = "gate.api.pagination.PortalPagination"
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["gate.throttling.CallerRateThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    # Per token, CI repository or user (gate.throttling); "<n>/<second|minute|hour|day>".
    "api": env_str("API_THROTTLE_RATE", "1200/minute"),
    "gate": env_str("GATE_THROTTLE_RATE", "600/minute"),
}
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    _num, _sep, _period = _rate.partition("/")
    if not (_num.isdigit() and _period[:1] in {"s", "m", "h", "d"}):
        raise ImproperlyConfigured(f"The {_scope} throttle rate {_rate!r} is not like 600/minute.")
SPECTACULAR_SETTINGS["COMPONENT_SPLIT_REQUEST"] = True
# The schema and its docs page describe every endpoint: signed-in users and tokens only.
SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = ["rest_framework.permissions.IsAuthenticated"]
SPECTACULAR_SETTINGS["SCHEMA_PATH_PREFIX"] = r"/api/v1"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "ReviewStatusEnum": "reviews.choices.ReviewStatus",
    "ItemOutcomeEnum": "reviews.choices.ItemOutcome",
    "WaiverStatusEnum": "reviews.choices.WaiverStatus",
    "RunStatusEnum": "collection.choices.RunStatus",
    "RegionStatusEnum": "collection.choices.RegionStatus",
    "ActorTypeEnum": "audit.choices.ActorType",
    "AuditOutcomeEnum": "audit.choices.Outcome",
    "GateDecisionEnum": "gate.choices.Decision",
    "CiOutcomeEnum": "gate.choices.CiOutcome",
    "CiFormatEnum": "gate.choices.CiFormat",
    "ExportFormatEnum": "exports.choices.ExportFormat",
}
# GitHub Actions OIDC: tokens must come from this issuer, be signed by a key of this JWKS and
# carry this audience (the reference CLI requests the portal's base URL as audience).
GATE_OIDC_ISSUER = env_str("GATE_OIDC_ISSUER", "https://token.actions.githubusercontent.com")
GATE_OIDC_JWKS_URL = env_str(
    "GATE_OIDC_JWKS_URL", f"{GATE_OIDC_ISSUER.rstrip('/')}/.well-known/jwks"
)
GATE_OIDC_AUDIENCE = env_str("GATE_OIDC_AUDIENCE", PORTAL_BASE_URL)
GATE_OIDC_JWKS_CACHE_SECONDS = env_int("GATE_OIDC_JWKS_CACHE_SECONDS", 3600, minimum=60)
GATE_OIDC_LEEWAY_SECONDS = env_int("GATE_OIDC_LEEWAY_SECONDS", 60, minimum=0)
# API tokens live at most this long; break-glass allows at most this many hours.
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365, minimum=1)
GATE_BREAK_GLASS_MAX_HOURS = env_int("GATE_BREAK_GLASS_MAX_HOURS", 24, minimum=1)
# Also require, for the commit being deployed, passing CI evidence of the mandatory controls
# CI proves (SAST, SBOM, IaC scan, tests: see gate/conf.py DEFAULT_CI_CONTROLS).
GATE_REQUIRE_CI_EVIDENCE = env_bool("GATE_REQUIRE_CI_EVIDENCE", False)
GATE_CI_MAX_BYTES = env_int("GATE_CI_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
