"""Rules that read a value given to a secret-bearing name, one per syntax a reviewer sees.

Each ``after_name`` rule is matched right after a name that ``names.is_secret_name`` accepts,
so every syntax works with every name: ``password = "x"``, ``"dbPassword1": "x"``,
``setApiKey("x")``, ``<client-secret>x</client-secret>``, ``--db-password x``,
``put("mail.smtp.password", "x")``, ``name="db.password" value="x"``...

The other rules here carry the name inside their own pattern: HTTP authorization headers,
credentials in URLs and on command lines.
"""

from __future__ import annotations

import base64
import binascii
import re

from reviewer.prepare.redact import checks, names
from reviewer.prepare.redact.model import Found, Rule


def quoted(suffix: str = "") -> str:
    """A string literal in any common syntax; its text is in group ``tq``/``dq``/``sq``/``bq``
    /``eq`` + ``suffix`` (triple, double, single, backtick, escaped double quotes)."""
    s = suffix
    body = r"[^{q}\\]*+(?:\\.[^{q}\\]*+)*+"
    return (
        r"(?:[rRbBuUfF@]{0,2}(?:"
        rf'"""(?P<tq{s}>[^"]*+)"""'
        rf'|"(?P<dq{s}>{body.format(q=chr(34))})"'
        rf"|'(?P<sq{s}>{body.format(q=chr(39))})'"
        rf"|`(?P<bq{s}>{body.format(q='`')})`)"
        rf'|\\"(?P<eq{s}>[^"\\]*+(?:\\(?!")[^"\\]*+)*+)\\")'
    )


# An unquoted value ends at whitespace, a quote, a bracket or a separator, and at "&" before
# another query parameter. Runs of at most 256 characters (possessive, so never re-read):
# longer runs are data, not a secret. A class repeated, not a group: `re` runs it in a tight
# loop.
_VRUN = r"""[^ \t\r\n\f\v"'`,;(){}\[\]<>&]"""  # ASCII space, not \s: a bitmap is faster
_AMP = r"&(?![\w.-]{1,64}=)"


def unquoted(suffix: str = "") -> str:
    return (
        rf"(?P<uv{suffix}>{_VRUN}{{1,256}}+(?:{_AMP}{_VRUN}{{0,256}}+){{0,8}}+)"
        rf"(?!{_VRUN}|{_AMP})"
    )


QUOTED = quoted()
VALUE = f"(?:{QUOTED}|{unquoted()})"
# After the name: its closing quote or bracket ("password": / ['password'] / \"password\":).
_NAME_END = r"""(?:\\?["'\]]){0,2}"""
# A type annotation, `password: str = "x"`, `API_KEY: &'static str = "x"`. Atomic: once
# `: type =` is seen the parse is committed. Whitespace before a lone "=" and a value after
# it: in YAML `password: QmFzZTY0=` the "=" is base64 padding, not `name: type =`.
_TYPE = r"(?>(?:\s*:\s*[&*'\w][\w\[\]<>., |&*':?]{0,40}?(?=\s+=(?![=>])\s*[^\s=]))?)"
_SEP = r"(?P<sep>===?|!==?|:=|::=|\?=|=>|\|\|=|\?\?=|<-|=|:(?!:))"
# A literal wrapped in a call or a cast: []byte("x"), String::from("x"), SecretStr("x"),
# os.getenv("NAME", "x"), ConvertTo-SecureString "x" -AsPlainText.
_WRAP = (
    r"(?:(?:new\s+)?(?:\[\])?[A-Za-z_$][\w.$:]{0,40}(?:\[\])?\(\s*"
    r"|ConvertTo-SecureString\s+(?:-String\s+)?)"
)
_ASSIGN = _NAME_END + _TYPE + r"\s*" + _SEP + r"\s*"
# Rule.follows: the first character after the name and any spaces, quotes or brackets.
_SEPARATORS = "=:!?|<"
_AWS_40 = r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
_GROUP2 = "value2"


def _value_ok(found: Found) -> bool:
    """The literal after a secret-bearing name looks like a credential (see ``checks``)."""
    m = found.match
    value = found.value
    if m.groupdict().get("uv") is not None:
        if (m.groupdict().get("sep") or "").startswith(("==", "!=")):
            return False  # `if token == EXPECTED:` compares with code, not a literal
        if checks.is_code_reference(value) or m.string[m.end() : m.end() + 1] in ("(", "["):
            return False  # a name, or a call: auth = _SigV4Auth(config)
    return checks.looks_random(value, passphrase=names.is_password_name(found.name))


def _setter_value_ok(found: Found) -> bool:
    return names.is_setter(found.name) and checks.looks_random(
        found.value, passphrase=names.is_password_name(found.name)
    )


def _quoted_name_value_ok(found: Found) -> bool:
    # put("mail.smtp.password", "x"): the name is itself a string literal.
    start = found.name_start
    return start > 0 and found.line[start - 1] in "\"'" and _value_ok(found)


def _element_ok(found: Found) -> bool:
    m = found.match
    tag = m.group("tag")
    # <password>x</password>, <db:password>x</db:password>; or a named entry
    # <string name="api_secret">x</string>, <entry key="secretKey">x</entry>.
    if m.group("attr") is None and not tag.lower().endswith(found.name.lower()):
        return False
    return checks.looks_random(found.value, passphrase=names.is_password_name(found.name))


# What may stand before `NAME value` when a space is the only separator.
_SPACE_CONTEXT = re.compile(
    r"(?:^|[\s;&|(])(?:set|setx|env|arg|export|define|config|config:set|configure\s+set"
    r"|secret\s+set|--?[\w-]+)\s+$|#\s*define\s+$",
    re.IGNORECASE,
)


def _spaced_literal_ok(found: Found) -> bool:
    # `name "x"` (#define, Gradle, SQL); not a Markdown code span after a word in prose.
    return found.match.group("bq") is None and _value_ok(found)


def _prose_ok(found: Found) -> bool:
    # "the password is x." but not `if token is NOT_SET:` (an identity test in code).
    value = found.value.rstrip(".,;:!?)")
    if checks.is_code_reference(value) or checks.is_code_reference(value.split("(")[0]):
        return False
    return checks.looks_random(value, passphrase=names.is_password_name(found.name))


def _space_value_ok(found: Found) -> bool:
    before = found.line[max(0, found.name_start - 40) : found.name_start]
    if not (found.name.startswith("-") or _SPACE_CONTEXT.search(before)):
        return False
    return _value_ok(found)


def _aws_secret_ok(found: Found) -> bool:
    return names.is_aws_secret_name(found.name) and "EXAMPLE" not in found.value


AFTER_NAME: tuple[Rule, ...] = (
    Rule(
        "aws-secret-access-key",
        "secret",
        _NAME_END + r"\s*" + _SEP + r"\s*[\"']?" + _AWS_40,
        "An AWS secret access key (40 base64 characters) given to a name like "
        "aws_secret_access_key or SecretAccessKey.",
        _aws_secret_ok,
        after_name=True,
        follows=_SEPARATORS,
    ),
    Rule(
        "aws-secret-access-key",
        "secret",
        r"[ \t]+[\"']?" + _AWS_40,
        "The same after a space: aws configure set aws_secret_access_key x.",
        _aws_secret_ok,
        after_name=True,
        follows=" ",
    ),
    Rule(
        "generic-secret",
        "secret",
        _ASSIGN + f"(?:{_WRAP}{quoted('w')}|{VALUE})",
        "A literal assigned to a secret-bearing name: `=`, `:`, `:=`, `=>`, `?=`, `||=`, `<-`; "
        "YAML, TOML, INI, .env, properties, JSON, XML attributes, map and struct literals, "
        'keyword arguments, HTTP headers; also through a call or cast ([]byte("x")).',
        _value_ok,
        group="value",
        after_name=True,
        follows=_SEPARATORS,
    ),
    Rule(
        "generic-secret",
        "secret",
        _ASSIGN + _WRAP + quoted("a") + r"\s*,\s*" + quoted("2"),
        "The second literal of a call assigned to a secret-bearing name: a default, as in "
        'os.getenv("DB_PASSWORD", "x").',
        _value_ok,
        group=_GROUP2,
        after_name=True,
        follows=_SEPARATORS,
    ),
    Rule(
        "generic-secret",
        "secret",
        _ASSIGN + r"[(\[]\s*" + quoted("a") + r"\s*,\s*" + quoted("2"),
        'A (user, password) pair assigned to a secret-bearing name: auth=("user", "x").',
        _value_ok,
        group=_GROUP2,
        after_name=True,
        follows=_SEPARATORS,
    ),
    Rule(
        "generic-secret",
        "secret",
        r"\s*\(\s*(?:[A-Za-z_]\w{0,30}\s*[=:]\s*)?" + QUOTED,
        'A literal passed to a setter or constructor named for a secret: setPassword("x"), '
        '.password("x"), withApiKey("x"), Password(value="x").',
        _setter_value_ok,
        group="value",
        after_name=True,
        follows="(",
    ),
    Rule(
        "generic-secret",
        "secret",
        r"\s*\(\s*(?:" + quoted("a") + r"|[\w.$]{1,60})\s*,\s*" + quoted("2"),
        'The second literal passed to a call named for a secret: HTTPBasicAuth("user", "x"), '
        'new UsernamePasswordCredentials("admin", "x").',
        _setter_value_ok,
        group=_GROUP2,
        after_name=True,
        follows="(",
    ),
    Rule(
        "generic-secret",
        "secret",
        r"""\\?["']\s*,\s*""" + quoted("2"),
        'A secret-bearing name and its value as two string literals: put("db.password", "x"), '
        "os.environ.setdefault(\"DB_PASSWORD\", \"x\"), define('DB_PASSWORD', 'x').",
        _quoted_name_value_ok,
        group=_GROUP2,
        after_name=True,
        follows=",",
    ),
    Rule(
        "generic-secret",
        "secret",
        r"""["']?(?:\s*,\s*|\s+)["']?(?i:value)["']?\s*[:=]\s*""" + VALUE,
        'A name/value pair naming a secret: <add key="ApiKey" value="x"/>, '
        '<property name="db.password" value="x"/>, {"name": "DB_PASSWORD", "value": "x"}.',
        _value_ok,
        group="value",
        after_name=True,
        follows=",vV",
    ),
    Rule(
        "generic-secret",
        "secret",
        r"""(?P<attr>["']\s*)?>(?P<xv>[^<\s]{1,256}+)</(?P<tag>[\w.:-]{1,80})>""",
        "An XML element named for a secret, <password>x</password>, or an entry naming one, "
        '<string name="api_secret">x</string>.',
        _element_ok,
        group="xv",
        after_name=True,
        follows=">",
    ),
    Rule(
        "generic-secret",
        "secret",
        r"[ \t]+" + QUOTED,
        'A literal after a secret-bearing name and a space: #define WIFI_PASSWORD "x", '
        "Gradle `password 'x'`, SQL `PASSWORD 'x'`.",
        _spaced_literal_ok,
        group="value",
        after_name=True,
        follows=" ",
    ),
    Rule(
        "generic-secret",
        "secret",
        r"[ \t]+" + unquoted(),
        "An unquoted value after a secret-bearing flag or setting and a space: --password x, "
        "-storepass x, ENV API_TOKEN x, setx API_KEY x, aws configure set ... x.",
        _space_value_ok,
        group="value",
        after_name=True,
        follows=" ",
    ),
    Rule(
        "generic-secret",
        "secret",
        r"\s+(?:is|was)\s*:?\s+[`'\"]?(?P<pv>[^\s`'\"]{8,256}+)",
        "Prose that gives a secret away: `the admin password is x`.",
        _prose_ok,
        group="pv",
        after_name=True,
        follows="iw",
    ),
)


# --------------------------------------------------------------------------- headers, URLs


def _header_ok(found: Found) -> bool:
    return checks.looks_random(found.value)


def _basic_ok(found: Found) -> bool:
    """Basic credentials are base64 of `user:password`: decoding says so for certain."""
    value = found.value
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    text = decoded.decode("utf-8", "replace")
    return ":" in text and text.isprintable() and not checks.is_placeholder(text.split(":", 1)[1])


_URL_PLACEHOLDERS = frozenset(
    {
        "password",
        "pass",
        "passwd",
        "pwd",
        "pw",
        "secret",
        "changeme",
        "x-oauth-basic",
        "token",
        "foo",
        "bar",
        "baz",
    }
)


def _url_password_ok(found: Found) -> bool:
    pw = found.value
    user = found.match.group("user")
    low = pw.lower()
    if checks.is_placeholder(pw) and not checks.mixed_alnum(pw):
        return False  # user:password@, :your_password@, ${DB_PASSWORD}
    if pw.startswith(("$", "%")) or low in _URL_PLACEHOLDERS:
        return False
    # Public defaults (postgres:postgres, guest:guest), masks (user:****@).
    return low != user.lower() and set(pw) - {"*", "x", "X", "."} != set()


def _url_user_ok(found: Found) -> bool:
    # https://<token>@host: a user part that is random is a credential (Sentry DSNs,
    # tokens as user names); "git", "deploy", "admin" are user names.
    user = found.value
    return len(user) >= 16 and checks.random_body(user) and checks.shannon_entropy(user) >= 3.5


HEADERS_AND_URLS: tuple[Rule, ...] = (
    Rule(
        "bearer-token",
        "secret",
        r"(?=[BbAa])(?:\b[Bb]earer|(?i:authorization)[\"'\]]{0,2}\s*[:=]?\s*[\"']?(?i:token))"
        r"\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
        "A bearer token: `Authorization: Bearer x`, `Bearer x` in code, `Authorization: token x`.",
        _header_ok,
        needles=(
            "arer",
            "auth",
        ),  # bearer, authorization: needles starting with a common first letter are cheaper
    ),
    Rule(
        "basic-auth",
        "secret",
        r"(?=[Aa])(?i:authorization)[\"'\]]{0,2}\s*[:=]?\s*[\"']?\s*(?i:basic)\s+"
        r"(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
        'HTTP Basic credentials in an Authorization header (also nginx `Authorization "Basic x"`).',
        _header_ok,
        needles=("auth",),
    ),
    Rule(
        "basic-auth",
        "secret",
        r"\b[Bb]asic\s+(?P<secret>[A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])",
        "`Basic x` anywhere, when x decodes to user:password.",
        _basic_ok,
        needles=("asic",),  # basic
    ),
    Rule(
        "url-password",
        "secret",
        # Starts at the literal "://" (after a scheme character) so `re` can skip ahead to it;
        # the scheme is not part of the secret.
        r"(?<=[A-Za-z0-9+.-])://(?P<user>[^\s:/?#@\"'`<>]*)"
        r":(?P<secret>[^\s/\"'`<>]+)@[^\s/?#@\"'`<>]+",
        "The password in a URL's userinfo, any scheme: postgres://app:x@db, "
        "mongodb+srv://u:x@cluster, redis://:x@cache, https://user:x@host.",
        _url_password_ok,
        needles=("://",),
    ),
    Rule(
        "url-credential",
        "secret",
        r"(?<=[A-Za-z0-9+.-])://(?P<secret>[A-Za-z0-9_.~%+-]{16,256}+)@[A-Za-z0-9.-]+",
        "A random user part in a URL, a token used as the user name: "
        "https://<key>@o1.ingest.sentry.io/2.",
        _url_user_ok,
        needles=("://",),
    ),
)


# --------------------------------------------------------------------------- command lines


def _cli_value_ok(found: Found) -> bool:
    # A password typed on a command line is real, even `-pSECRET`: only lookups ($VAR,
    # %VAR%, <password>) and masks (****, xxxx) stay visible.
    value = found.value
    return (
        not value.startswith(("$", "%", "<", "{")) and set(value.lower()) - {"*", "x", "."} != set()
    )


def _sql_password_ok(found: Found) -> bool:
    # SQL quotes with ' or "; `identified by `key`` is prose with a Markdown code span.
    return found.match.group("bq") is None and _cli_strict_ok(found)


def _cli_strict_ok(found: Found) -> bool:
    value = found.value
    return not value.startswith(("$", "%", "<")) and not checks.is_kept_visible(value)


_CLI_QUOTED_OR_WORD = (
    r"""(?:"(?P<dq>[^"]{1,256})"|'(?P<sq>[^']{1,256})'|(?P<uv>[^\s'"`;|&)]{1,256}))"""
)
_CMD_PREFIX = r"[^|;&\n]{0,200}?\s"

COMMAND_LINES: tuple[Rule, ...] = (
    Rule(
        "cli-password",
        "secret",
        r"(?i:\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlslap"
        r"|mariadb(?:-dump|-admin)?|mycli|sshpass|7z|7za|rar)\b)"
        + _CMD_PREFIX
        + r"-p(?!assword|ort)"
        + _CLI_QUOTED_OR_WORD,
        "A password attached to -p: mysql -pSECRET, mysqldump -p'x', sshpass -px, 7z -px.",
        _cli_value_ok,
        needles=("-p",),
        group="value",
    ),
    Rule(
        "cli-password",
        "secret",
        r"(?i:\b(?:docker|podman|nerdctl|buildah|skopeo|oras|helm\s+registry)\s+login\b)"
        + _CMD_PREFIX
        + r"(?:-p|--password)(?:=|\s+)"
        + _CLI_QUOTED_OR_WORD,
        "A registry password: docker login -p x, podman login --password x.",
        _cli_strict_ok,
        needles=("login",),
        group="value",
    ),
    Rule(
        "cli-password",
        "secret",
        r"(?i:\b(?:sshpass|mongo|mongosh|mongodump|mongorestore|sqlcmd|bcp"
        r"|zip|unzip|ldapsearch|ldapadd|ldapmodify|ldapdelete|redis-cli)\b)"
        + _CMD_PREFIX
        + r"(?:-p|-P|-w|-a)\s+"
        + _CLI_QUOTED_OR_WORD,
        "A password after -p/-P/-w/-a where that flag is one: sshpass -p x, sqlcmd -P x, "
        "ldapsearch -w x, redis-cli -a x, zip -P x.",
        _cli_strict_ok,
        needles=("-p ", "-w ", "-a "),
        group="value",
    ),
    Rule(
        "cli-password",
        "secret",
        r"(?:^|[\s\"'])(?:-u|--user|--proxy-user|-U|--http-user)(?:=|\s+)[\"']?"
        r"[^\s:%\"'@/]{1,64}[:%](?P<secret>[^\s\"'@]{1,256})",
        "user:password on a command line: curl -u user:x, --user user:x, smbclient -U user%x.",
        _cli_strict_ok,
        needles=("-u", "--user", "--proxy-user", "--http-user"),
    ),
    Rule(
        "cli-password",
        "secret",
        r"(?:-pass(?:in|out)?|-passphrase|-k)\s+[\"']?(?:pass|env|file):(?P<secret>[^\s\"']+)",
        "An OpenSSL pass phrase argument: -passin pass:x, -passout pass:x.",
        _cli_value_ok,
        needles=("pass:",),
    ),
    Rule(
        "generic-secret",
        "secret",
        r"(?i:\bidentified\s+(?:with\s+\w+\s+)?by\s+(?:password\s+)?)" + QUOTED,
        "A password in SQL: CREATE USER ... IDENTIFIED BY 'x'.",
        _sql_password_ok,
        needles=("dentified",),  # identified
        group="value",
    ),
)
