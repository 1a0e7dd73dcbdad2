"""reviewer.prepare.redact's rules one by one: the rule table as data, secret-bearing names,
personal-data validators, multi-line contexts, and adversarial input that must stay linear.

Secret-shaped values are assembled at run time (see tests/data/secrets/README.md).
"""

from __future__ import annotations

import re
import string
import time

import pytest

from reviewer.core.values import DiffLine, FileDiff, Hunk
from reviewer.prepare.redact import (
    BLOCK_RULES,
    LINE_RULES,
    families,
    is_secret_file,
    kind_of,
    redact_changes,
    redact_lines,
    redact_text,
)
from reviewer.prepare.redact.names import is_secret_name, is_setter, split_words
from reviewer.prepare.redact.pii import cn_id_check_digit, iban_ok, luhn_ok

PW = "Zq8vN3kP0sW2xR7t"
B64 = (string.ascii_letters + string.digits) * 2

# --------------------------------------------------------------------------- the rule table


def test_every_rule_is_complete_data() -> None:
    for rule in LINE_RULES:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", rule.family), rule
        assert rule.kind in ("secret", "pii")
        assert rule.description.strip(), rule.family
        re.compile(rule.pattern)
        assert all(n == n.lower() for n in rule.needles), rule.family
        # The engine finds every rule somewhere: by needle, by run, or after a name.
        assert rule.needles or rule.run or rule.after_name, rule.family
    for block in BLOCK_RULES:
        assert block.description.strip() and block.kind == "secret"


def test_families_and_kinds() -> None:
    kinds = families()
    assert {f for f, k in kinds.items() if k == "pii"} == {
        "email",
        "phone-cn",
        "id-cn",
        "payment-card",
        "iban",
    }
    assert kind_of("github-token") == "secret" and kind_of("email") == "pii"
    assert len(kinds) >= 50


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("aws_secret_access_key_0", ("aws", "secret", "access", "key", "0")),
        ("dbPassword1", ("db", "password", "1")),
        ("APIKey", ("api", "key")),
        ("x-api-key", ("x", "api", "key")),
        ("spring.datasource.password", ("spring", "datasource", "password")),
        ("OAuth2Token", ("o", "auth", "2", "token")),
        ("--client-secret", ("client", "secret")),
    ],
)
def test_names_split_into_words_in_every_case_style(name: str, words: tuple[str, ...]) -> None:
    assert split_words(name) == words


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "db_password_0",
        "aws_secret_access_key_0",
        "DB_PASSWORD_PROD",
        "dbPassword1",
        "MYPASSWORD",
        "clientSecret",
        "x-api-key",
        "X-Auth-Token",
        "spring.datasource.password",
        "smtp_pass",
        "storepass",
        "conn_str",
        "ConnectionString",
        "SENTRY_DSN",
        "session_id",
        "csrftoken",
        "HUAWEICLOUD_SDK_SK",
        "signing_key",
        "apikey2",
        "refresh_token_v2",
        "ALGOLIA_KEY",
        "PUSHER_APP_KEY",
    ],
)
def test_secret_bearing_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "password_hash",
        "token_type",
        "max_tokens",
        "tokenizer",
        "secret_name",
        "public_key",
        "access_key_id",
        "cache_key",
        "primary_key",
        "keyboard",
        "bypass",
        "compass",
        "author",
        "session_timeout",
        "cookie_domain",
        "signature_algorithm",
        "password_min_length",
        "TOKEN_URL",
        "secretary",
        "is_password",
        "fake_token",
    ],
)
def test_names_about_a_secret_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


def test_setters_pass_a_secret_in_getters_do_not() -> None:
    assert is_setter("setPassword") and is_setter("builder.password") and is_setter("withApiKey")
    assert is_setter("HTTPBasicAuth") and is_setter("UsernamePasswordCredentials")
    assert not is_setter("getPassword") and not is_setter("verifyToken")
    assert not is_setter("hashPassword") and not is_setter("os.getenv")


# --------------------------------------------------------------------------- syntaxes


@pytest.mark.parametrize(
    "template",
    [
        'aws_secret_access_key_0 = "{}"',
        'db_password_0 = "{}"',
        'setPassword("{}")',
        '.password("{}")',
        'Password: "{}",',
        'props.put("mail.smtp.password", "{}");',
        '<add key="ApiKey" value="{}" />',
        "<db:password>{}</db:password>",
        "export DB_PASSWORD={}",
        "--password={}",
        "--db-password {}",
        "-storepass {}",
        "ENV API_TOKEN {}",
        "X-Api-Key: {}",
        "api_key ?= {}",
        "password <- '{}'",
        "$password = '{}';",
        '#define WIFI_PASS "{}"',
        "jdbc:mysql://db/app?user=root&password={}&ssl=true",
        "Server=db;User Id=sa;Password={};",
        "- POSTGRES_PASSWORD={}",
        '{{"name": "API_TOKEN", "value": "{}"}}',
        'auth=("deploy", "{}")',
        'TOKEN = os.getenv("GH_TOKEN", "{}")',
        "The admin password is `{}`.",
    ],
)
def test_a_value_after_a_secret_bearing_name_in_every_syntax(template: str) -> None:
    out, found = redact_text(template.format(PW))
    assert PW not in out
    assert found and all(r.kind == "generic-secret" for r in found), out


@pytest.mark.parametrize(
    "line",
    [
        "mysql -u root -pSECRET app",
        "mysqldump -uroot -p'hunter2' --all-databases",
        "curl -u admin:s3cr3tpass https://ci/api",
        "smbclient //fs/share -U backup%s3cr3tpass",
        "docker login -u ci -p s3cr3tpass registry",
        "redis-cli -a s3cr3tpass ping",
        "openssl pkcs12 -export -passout pass:s3cr3tpass -out c.p12",
    ],
)
def test_passwords_on_command_lines(line: str) -> None:
    out, found = redact_text(line)
    assert "SECRET" not in out and "hunter2" not in out and "s3cr3tpass" not in out
    assert [r.kind for r in found] == ["cli-password"]


@pytest.mark.parametrize(
    "line",
    [
        "docker run -p 8080:80 nginx",
        "mysql -u root -p app",
        "ssh -p 2222 deploy@10.0.0.8",
        'curl -u "$USER:$PASS" https://api',
        "git push -u origin main",
        'password = os.environ["DB_PASSWORD"]',
        "password: ${DB_PASSWORD}",
        'api_key = "<your-api-key>"',
        'password_hash = "$2b$12$KIXa0bN3Gq5Zy7cVt1mR6eQ1o3mZl9C0u8nS5wXyPqRs.Tu2Vw3Hy"',
        'token = "sha256:2ec6dfe549c384187d8732a1411f708651549b48385260aa41cd683a532a78d8"',
        'password = "settings.DB_PASSWORD"',
        "secret = vault:secret/data/db#password",
        'GITHUB_TOKEN = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    ],
)
def test_lookups_placeholders_and_hashes_stay_visible(line: str) -> None:
    assert redact_text(line) == (line, ())


# --------------------------------------------------------------------------- personal data


def test_validators() -> None:
    assert cn_id_check_digit("11010519491231002") == "X"
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB00 WEST 1234 5698 7654 32")


@pytest.mark.parametrize(
    ("line", "family"),
    [
        ("owner: zhang.wei@acme-corp.cn", "email"),
        ("tel 138-1234-5678", "phone-cn"),
        ("mobile: +86 139 1234 5678", "phone-cn"),
        ("id = '11010519491231002X'", "id-cn"),
        ("pan = 4111 1111 1111 1111", "payment-card"),
        ("amex 3782 822463 10005", "payment-card"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "iban"),
    ],
)
def test_personal_data_is_redacted_and_counted_as_pii(line: str, family: str) -> None:
    _, found = redact_text(line)
    assert [r.kind for r in found] == [family]
    assert kind_of(family) == "pii"
    assert redact_text(line, pii=False) == (line, ())


@pytest.mark.parametrize(
    "line",
    [
        "mail user@example.com or admin@example.org",
        "Author: octocat <12345+octocat@users.noreply.github.com>",
        'FROM = "no-reply@shop.com"',
        "git clone git@github.com:acme/api.git",
        "ssh ubuntu@ec2-3-1-2-3.compute.amazonaws.com",
        '@app.route("/users")',
        "npm install react@18.2.0",
        "background: url(logo@2x.png)",
        "epoch = 1700000000; filler = 13800000000",
        "id = '110105194912310021'",  # wrong check digit
        "n = 4111 1111 1111 1112",  # fails Luhn
        "iban = DE00 3704 0044 0532 0130 00",  # fails mod-97
        "order = 1234 5678 9012 3456",  # no card network
    ],
)
def test_personal_data_look_alikes_stay(line: str) -> None:
    assert redact_text(line) == (line, ())


# --------------------------------------------------------------------------- several lines


def _key_lines(n: int, width: int = 64) -> list[str]:
    return [(B64[i:] + B64)[:width] for i in range(n)]


def test_a_hunk_inside_a_key_without_begin_or_end_is_redacted() -> None:
    body = _key_lines(4)
    out, found = redact_lines(["key_material = (", *(f'    "{b}"' for b in body), ")"])
    assert all(b not in "\n".join(out) for b in body)
    assert [r.kind for r in found] == ["private-key"] * 4


def test_a_certificate_in_view_is_not_a_key() -> None:
    lines = ["-----BEGIN CERTIFICATE-----", *_key_lines(4)]
    assert redact_lines(lines) == (tuple(lines), ())


def test_putty_private_lines_and_mac_public_lines_stay() -> None:
    public = _key_lines(1)[0]
    private = _key_lines(2, 64)
    mac = "0123456789abcdef" * 2
    lines = [
        "PuTTY-User-Key-File-3: ssh-ed25519",
        "Public-Lines: 1",
        public,
        "Private-Lines: 2",
        *private,
        f"Private-MAC: {mac}",
    ]
    out, _ = redact_lines(lines)
    assert out[2] == public
    assert out[4:6] == ("[REDACTED:private-key]",) * 2
    assert out[6] == "Private-MAC: [REDACTED:private-key]"


def test_kubernetes_secret_data_whatever_the_key() -> None:
    text = (
        "kind: Secret\ndata:\n  tls.crt: QUJDREVGR0g=\n  anything: c2VjcmV0\nmetadata:\n  name: x"
    )
    out, found = redact_text(text)
    assert "QUJDREVGR0g=" not in out and "c2VjcmV0" not in out
    assert [r.kind for r in found] == ["k8s-secret"] * 2
    assert out.endswith("metadata:\n  name: x")
    config_map = text.replace("kind: Secret", "kind: ConfigMap")
    assert redact_text(config_map) == (config_map, ())


def test_a_secret_hunk_without_its_kind_line_uses_the_file() -> None:
    def hunk(start: int, *texts: str) -> Hunk:
        return Hunk(
            old_start=start,
            old_len=len(texts),
            new_start=start,
            new_len=len(texts),
            lines=tuple(
                DiffLine(kind="ctx", text=t, old_no=start + i, new_no=start + i)
                for i, t in enumerate(texts)
            ),
        )

    fd = FileDiff(
        path="k8s/secret.yaml",
        hunks=(hunk(1, "kind: Secret", "metadata:"), hunk(40, "data:", "  token: dG9rZW4xMjM=")),
    )
    done = redact_changes([fd])
    assert done.files[0].hunks[1].lines[1].text == "  token: [REDACTED:k8s-secret]"
    assert [(s.path, s.line, s.family, s.kind) for s in done.sites] == [
        ("k8s/secret.yaml", 41, "k8s-secret", "secret")
    ]


def test_multi_line_strings_given_to_a_secret_name() -> None:
    out, _ = redact_text(f'TOKEN = """\n{PW}\n"""\nclient_secret: |\n  {PW}x\nname: |\n  {PW}y')
    assert out.splitlines() == [
        'TOKEN = """',
        "[REDACTED:generic-secret]",
        '"""',
        "client_secret: |",
        "  [REDACTED:generic-secret]",
        "name: |",
        f"  {PW}y",
    ]


def test_a_name_and_its_value_on_neighbouring_lines() -> None:
    text = f'env:\n  - name: DB_PASSWORD\n    value: "{PW}"\n  - name: LOG_LEVEL\n    value: debug'
    out, found = redact_text(text)
    assert PW not in out and "debug" in out and len(found) == 1


@pytest.mark.parametrize(
    ("path", "secret"),
    [
        ("keys/deploy.ppk", True),
        ("infra/terraform.tfstate", True),
        ("home/.kube/config", True),
        ("home/.docker/config.json", True),
        (".streamlit/secrets.toml", True),
        ("app/config.json", False),
        ("docs/kubeconfig.md", False),
    ],
)
def test_more_secret_files(path: str, secret: bool) -> None:
    assert is_secret_file(path) is secret


# --------------------------------------------------------------------------- adversarial input

_N = 100_000


@pytest.mark.parametrize(
    "text",
    [
        "a" * _N,
        "1" * _N,
        "1 " * (_N // 2),
        "@" * _N,
        "a" * _N + "@",
        "a@" + "a." * (_N // 2),
        "https://u:" + "@" * _N,
        "api_key=" * (_N // 8),
        "password='" * (_N // 10),
        '"password": ' * (_N // 12),
        "setPassword(" * (_N // 12),
        "--password " * (_N // 11),
        "mysql " + "-p" * (_N // 2),
        "sk-" + "a" * _N,
        "ghp_" * (_N // 4),
        "eyJ." * (_N // 4),
        "AKIA" * (_N // 4),
        "Authorization: Bearer " * (_N // 22),
        "<password>" * (_N // 10),
        "DE89 " * (_N // 5),
        "4111 " * (_N // 5),
        "x" * 63 + "\n" + ("A" * 64 + "\n") * 1500,
        "password: |\n" + ("  " + "a" * 60 + "\n") * 1500,
        "kind: Secret\ndata:\n" + "".join(f"  k{i}: YWJjZGVm\n" for i in range(3000)),
        '"""' * (_N // 3),
        "\\" * _N,
        " " * _N + "token",
    ],
)
def test_adversarial_lines_of_100k_characters_finish(text: str) -> None:
    # A guard against catastrophic backtracking only (seconds, not hours); the timing goals
    # are measured by bench/redact_corpus.py.
    start = time.perf_counter()
    out, _ = redact_text(text)
    assert time.perf_counter() - start < 20.0
    assert out.count("\n") == text.count("\n")
