"""Nothing secret leaves the machine or reaches an output, end to end through ``review``.

Secrets in staged code are replaced by ``[REDACTED:<kind>]`` before any request (line numbers
kept), secret-by-nature files are never sent, and the API key itself never appears in any
output, log, cache file or error message, whatever the run's fate.

Secret-shaped values are assembled at run time, so this file holds no literal that a secret
scanner would flag.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEST_KEY, Run, chunk_files, endpoint_env, finding_on_changes, run_cli
from fake_openai import (
    FakeOpenAI,
    Received,
    Reply,
    reply_error,
    reply_json,
    reply_raw,
    reply_reset,
    reply_text,
)
from gitrepo import commit, git, write

from reviewer.prepare.redact import redact_text

# --------------------------------------------------------------------------- the secrets

_B64 = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0"
SECRETS: dict[str, str] = {
    "aws-access-key-id": "AKIA" + "VMCPJYWVTXJDE5VX",
    "aws-secret-access-key": "wJ8rXUtnFEMIk7MDENGbPxRfiCYq3Jq2Zk9Lq0Vb",
    "github-token": "ghp" + "_" + "R8kTq2WmZ7xYb4NcV1pLs9HdJ3fGa6EuK0oQ",
    "private-key": _B64[:64],  # one body line of the PEM block below
    "jwt": "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ"
    ".Qm9pN2xWc3R4TGZ3YkR6aWtTbnBDeTRuUXVa",
    "url-password": "Vq7rTz9pLm2Kx4Nw",
    "generic-secret": "hT4!kq9Zr2Lw8xVm",
}
BEGIN = "-----BEGIN RSA " + "PRIVATE KEY-----"
END = "-----END RSA " + "PRIVATE KEY-----"
CONFIG_PY = "\n".join(
    [
        "import os",
        f'AWS_ACCESS_KEY_ID = "{SECRETS["aws-access-key-id"]}"',
        f'AWS_SECRET_ACCESS_KEY = "{SECRETS["aws-secret-access-key"]}"',
        f'GITHUB = "{SECRETS["github-token"]}"',
        f'SESSION = "{SECRETS["jwt"]}"',
        f'DATABASE_URL = "postgres://app:{SECRETS["url-password"]}@db.internal:5432/app"',
        f'password = "{SECRETS["generic-secret"]}"',
        'KEY = """',
        BEGIN,
        _B64[:64],
        _B64[64:] + "==",
        END,
        '"""',
        "after_pem = os.environ.get('HOME')  # the finding goes here",
        "",
    ]
)
AFTER_PEM_LINE = (
    CONFIG_PY.splitlines().index("after_pem = os.environ.get('HOME')  # the finding goes here") + 1
)
# Contents a redactor would not catch: these files must be kept out by their name.
SECRET_FILES = {
    ".env": "DB_PASSWORD=plainwordsonly\n",
    "certs/server.pem": "not even a key: pem-canary-1\n",
    "deploy/id_rsa": "whatever is in here: rsa-canary-2\n",
}
CANARIES = ("plainwordsonly", "pem-canary-1", "rsa-canary-2")
_AFTER_PEM = re.compile(r"^\s*(\d+) \+ \| after_pem", re.MULTILINE)


def finding_after_pem(req: Received) -> Reply:
    """One finding on the line after the key block, by the number the model was shown."""
    user = req.messages[-1]["content"]
    match = _AFTER_PEM.search(user)
    findings = []
    if match:
        line = int(match.group(1))
        findings.append(
            {
                "path": "config.py",
                "start_line": line,
                "end_line": line,
                "severity": "high",
                "category": "security",
                "confidence": 0.9,
                "title": "Hard-coded credentials",
                "message": "Credentials belong in the environment.",
                "suggestion": None,
            }
        )
    return reply_json({"summary": "Secrets in code.", "findings": findings})


@pytest.fixture
def staged_secrets(repo: Path) -> Path:
    write(repo, "README.md", "hello\n")
    commit(repo)
    write(repo, "config.py", CONFIG_PY)
    for path, content in SECRET_FILES.items():
        write(repo, path, content)
    git(repo, "add", "-A")
    return repo


def _everything_sent(server: FakeOpenAI) -> bytes:
    return b"\n".join(r.raw for r in server.requests)


def _values() -> list[str]:
    return [*SECRETS.values(), _B64[64:]]


# --------------------------------------------------------------------------- redaction


def test_secrets_are_redacted_before_sending_and_lines_keep_their_numbers(
    staged_secrets: Path,
) -> None:
    with FakeOpenAI(default=finding_after_pem) as server:
        run = run_cli("-o", "json", "--fail-on", "never", env=endpoint_env(server))
        sent = _everything_sent(server)  # the verification request too
        assert len(server.verify_requests) == 1
        (request,) = server.review_requests
    assert run.code == 0, run.err
    for value in _values():
        assert value.encode() not in sent, value
    user = request.messages[-1]["content"]
    for kind in SECRETS:
        assert f"[REDACTED:{kind}]" in user, kind
    # The key block's BEGIN/END lines stay: the reviewer must still see a key was committed.
    assert BEGIN in user and END in user
    # Every line is still there, under its own number.
    assert chunk_files(request) == {"config.py": list(range(1, len(CONFIG_PY.splitlines()) + 1))}

    result = run.json()
    (finding,) = result["findings"]
    assert (finding["path"], finding["start_line"]) == ("config.py", AFTER_PEM_LINE)
    assert finding["code"].startswith("after_pem = ")
    assert result["stats"]["redactions"] == 8  # 6 one-line secrets + 2 key body lines
    for value in _values():
        assert value not in run.out and value not in run.err


def test_secret_files_are_never_sent_and_are_listed_with_the_reason(
    staged_secrets: Path, llm: FakeOpenAI
) -> None:
    run = run_cli("-o", "json", "--fail-on", "never", env=endpoint_env(llm))
    assert run.code == 0, run.err
    sent = _everything_sent(llm).decode()
    for path in SECRET_FILES:
        assert f"=== FILE: {path}" not in sent
    for canary in CANARIES:
        assert canary not in sent
    not_reviewed = {n["path"]: n for n in run.json()["not_reviewed"]}
    for path in SECRET_FILES:
        assert not_reviewed[path]["reason"] == "secret-file"
        assert "never sent" in not_reviewed[path]["detail"]
    assert run.json()["reviewed_paths"] == ["config.py"]


def test_the_terminal_report_counts_redactions_and_shows_no_value(
    staged_secrets: Path, llm: FakeOpenAI
) -> None:
    run = run_cli("--fail-on", "never", env=endpoint_env(llm))
    assert run.code == 0, run.err
    assert "8 secrets redacted" in run.out
    assert "secret-file" in run.out
    for value in _values():
        assert value not in run.out and value not in run.err


def test_a_dry_run_says_how_many_secrets_would_be_redacted(staged_secrets: Path) -> None:
    run = run_cli("--dry-run")
    assert run.code == 0, run.err
    assert "8 secrets would be redacted" in run.out
    for value in _values():
        assert value not in run.out


def test_no_redact_sends_the_values(staged_secrets: Path, llm: FakeOpenAI) -> None:
    run = run_cli("--no-redact", "-o", "json", "--fail-on", "never", env=endpoint_env(llm))
    assert run.code == 0, run.err
    sent = _everything_sent(llm).decode()
    assert SECRETS["aws-access-key-id"] in sent
    assert "[REDACTED:" not in sent
    assert run.json()["stats"]["redactions"] == 0
    # Secret-by-nature files stay out even then: --no-redact is about values in code.
    assert "=== FILE: .env" not in sent
    for canary in CANARIES:
        assert canary not in sent


def test_redaction_also_covers_whole_file_reviews(tmp_path: Path, llm: FakeOpenAI) -> None:
    write(tmp_path, "config.py", CONFIG_PY)
    write(tmp_path, ".env", SECRET_FILES[".env"])
    run = run_cli(
        str(tmp_path / "config.py"),
        str(tmp_path / ".env"),
        "-o",
        "json",
        "--fail-on",
        "never",
        env=endpoint_env(llm),
    )
    assert run.code == 0, run.err
    sent = _everything_sent(llm)
    for value in [*_values(), *CANARIES]:
        assert value.encode() not in sent
    assert run.json()["stats"]["redactions"] == 8
    assert run.json()["not_reviewed"][0]["reason"] == "secret-file"


def test_show_redactions_lists_where_and_which_family_never_the_value(
    staged_secrets: Path,
) -> None:
    run = run_cli("--dry-run", "--show-redactions")
    assert run.code == 0, run.err
    assert "Redactions (8; values are never shown)" in run.out
    assert "config.py:2  aws-access-key-id (secret)" in run.out
    assert "config.py:7  generic-secret (secret)" in run.out
    for value in _values():
        assert value not in run.out
    result = run_cli("--dry-run", "--show-redactions", "-o", "json").json()
    sites = result["redaction_sites"]
    assert len(sites) == 8 == result["stats"]["redactions"]
    assert sites[0] == {
        "path": "config.py",
        "line": 2,
        "old_line": None,
        "family": "aws-access-key-id",
        "kind": "secret",
    }
    assert result["stats"]["redactions_by_family"]["private-key"] == 2
    assert result["stats"]["redactions_secrets"] == 8 and result["stats"]["redactions_pii"] == 0
    # Without the flag, counts only.
    assert run_cli("--dry-run", "-o", "json").json()["redaction_sites"] == []


PERSON = "li.na@acme-corp.cn"


@pytest.fixture
def staged_personal_data(repo: Path) -> Path:
    write(repo, "README.md", "hello\n")
    commit(repo)
    write(repo, "owners.py", f'OWNER = "{PERSON}"\nPHONE = "13812345678"\n')
    git(repo, "add", "-A")
    return repo


def test_personal_data_is_redacted_and_counted_apart(
    staged_personal_data: Path, llm: FakeOpenAI
) -> None:
    run = run_cli("-o", "json", "--fail-on", "never", env=endpoint_env(llm))
    assert run.code == 0, run.err
    sent = _everything_sent(llm).decode()
    assert PERSON not in sent and "13812345678" not in sent
    assert "[REDACTED:email]" in sent and "[REDACTED:phone-cn]" in sent
    stats = run.json()["stats"]
    assert (stats["redactions"], stats["redactions_pii"], stats["redactions_secrets"]) == (2, 2, 0)
    assert stats["redactions_by_family"] == {"email": 1, "phone-cn": 1}
    assert (
        "2 personal data items redacted" in run_cli("--fail-on", "never", env=endpoint_env(llm)).out
    )


@pytest.mark.parametrize("how", ["flag", "config", "env"])
def test_redact_pii_off_sends_personal_data(
    staged_personal_data: Path, llm: FakeOpenAI, how: str
) -> None:
    args = ["-o", "json", "--fail-on", "never"]
    env = endpoint_env(llm)
    if how == "flag":
        args.append("--no-redact-pii")
    elif how == "config":
        write(staged_personal_data, ".reviewer.toml", "redact-pii = false\n")
    else:
        env["REVIEWER_REDACT_PII"] = "false"
    run = run_cli(*args, env=env)
    assert run.code == 0, run.err
    assert PERSON in _everything_sent(llm).decode()
    assert run.json()["stats"]["redactions_pii"] == 0


def test_a_suggestion_carrying_a_redaction_marker_is_dropped(
    staged_secrets: Path,
) -> None:
    """Pasting the model's copy of a redacted line would write the marker into the code."""

    def suggest(req: Received) -> Reply:
        user = req.messages[-1]["content"]
        (number,) = re.findall(r"^\s*(\d+) \+ \| GITHUB = ", user, re.MULTILINE)
        line = int(number)
        finding = {
            "path": "config.py",
            "start_line": line,
            "end_line": line,
            "severity": "high",
            "category": "security",
            "confidence": 0.9,
            "title": "Token in code",
            "message": "Read it from the environment.",
        }
        return reply_json(
            {
                "summary": "s",
                "findings": [
                    {**finding, "suggestion": 'GITHUB = "[REDACTED:github-token]"  # rotate'},
                    {**finding, "title": "Other", "suggestion": 'GITHUB = os.environ["GH"]'},
                ],
            }
        )

    with FakeOpenAI(default=suggest) as server:
        run = run_cli("-o", "json", "--fail-on", "never", env=endpoint_env(server))
    assert run.code == 0, run.err
    suggestions = {f["title"]: f["suggestion"] for f in run.json()["findings"]}
    assert suggestions == {"Token in code": None, "Other": 'GITHUB = os.environ["GH"]'}


# --------------------------------------------------------------------------- the API key


@pytest.fixture
def small_repo(repo: Path) -> Path:
    write(repo, "a.py", "x = 1\n")
    commit(repo)
    write(repo, "a.py", "x = 1\ny = eval(input())\n")
    write(repo, "b.py", "def f():\n    return 2\n")
    git(repo, "add", "-A")
    return repo


_ECHO = f"Incorrect API key provided: {TEST_KEY}. Authorization: Bearer {TEST_KEY}"


def _echo_body(status: int) -> Reply:
    # A proxy's error page that echoes the request's Authorization header.
    return reply_raw(f"<html>{_ECHO}</html>".encode(), status=status, content_type="text/html")


# (name, replies for every request, extra CLI args)
KEY_RUNS: list[tuple[str, Reply | None, tuple[str, ...]]] = [
    ("success", None, ()),
    ("dry-run", None, ("--dry-run",)),
    ("401-echo", reply_error(401, _ECHO, type="invalid_request_error"), ()),
    ("403-html-echo", _echo_body(403), ()),
    ("500-echo", reply_error(500, _ECHO, type="server_error"), ("--max-retries", "0")),
    # The key straddles the point where a long error message is cut.
    ("500-cut-echo", reply_error(500, "x" * 480 + " " + TEST_KEY), ("--max-retries", "0")),
    ("502-html-echo", _echo_body(502), ("--max-retries", "0")),
    ("200-not-json-echo", _echo_body(200), ("--max-retries", "0")),
    ("invalid-output-echo", reply_text(f"my key is {TEST_KEY}"), ()),
    ("refusal-echo", reply_text(None, refusal=f"no, {TEST_KEY}"), ()),
    ("reset", reply_reset(), ("--max-retries", "0")),
    ("400-echo", reply_error(400, _ECHO), ()),
    ("404-echo", reply_error(404, f"model not found for {TEST_KEY}"), ()),
]


@pytest.mark.parametrize(("name", "reply", "args"), KEY_RUNS, ids=[r[0] for r in KEY_RUNS])
def test_the_api_key_never_appears_in_any_output(
    small_repo: Path,
    tmp_path: Path,
    name: str,
    reply: Reply | None,
    args: tuple[str, ...],
) -> None:
    out_dir = tmp_path / "out"
    cache_dir = tmp_path / "cache"
    default = finding_on_changes() if reply is None else (lambda _req: reply)
    with FakeOpenAI(default=default) as server:
        runs = [
            run_cli(
                *args,
                "--cache-dir",
                str(cache_dir),
                "-o",
                "terminal",
                "-o",
                f"json={out_dir / 'r.json'}",
                "-o",
                f"sarif={out_dir / 'r.sarif'}",
                "-o",
                f"github={out_dir / 'r.md'}",
                env=endpoint_env(server),
            ),
        ]
        bodies = [r.raw for r in server.requests]
    _assert_no_key(runs, [out_dir, cache_dir])
    for body in bodies:
        assert TEST_KEY.encode() not in body  # the key goes in a header, never in the body
    if name == "success":
        assert runs[0].code == 0 and (out_dir / "r.sarif").is_file()
        assert any(cache_dir.iterdir())
    elif name != "dry-run":
        assert runs[0].code == 3, (name, runs[0].err)


KEY_PART = TEST_KEY[:16]  # no part of the key either


def _assert_no_key(runs: list[Run], dirs: list[Path]) -> None:
    for run in runs:
        assert "Traceback" not in run.err
        assert KEY_PART not in run.out, run.out
        assert KEY_PART not in run.err, run.err
    for directory in dirs:
        for path in _files(directory):
            assert KEY_PART.encode() not in path.read_bytes(), path


def _files(directory: Path) -> Iterator[Path]:
    if directory.exists():
        yield from (p for p in directory.rglob("*") if p.is_file())


def test_the_key_is_not_in_the_cache_or_the_results_of_a_cached_run(
    small_repo: Path, tmp_path: Path, llm: FakeOpenAI
) -> None:
    cache_dir = tmp_path / "cache"
    first = run_cli("--cache-dir", str(cache_dir), "-o", "json", env=endpoint_env(llm))
    second = run_cli("--cache-dir", str(cache_dir), "-o", "json", env=endpoint_env(llm))
    assert first.code == second.code == 0
    assert second.json()["stats"]["chunks_cached"] == second.json()["stats"]["chunks"] > 0
    _assert_no_key([first, second], [cache_dir])
    assert json.dumps(second.json()).find(TEST_KEY) == -1


def test_show_config_says_whether_the_key_is_set_never_what_it_is(small_repo: Path) -> None:
    run = run_cli("--show-config", env={"OPENAI_API_KEY": TEST_KEY})
    assert run.code == 0
    assert "$OPENAI_API_KEY (set)" in run.out
    _assert_no_key([run], [])


def test_a_missing_key_names_the_variable(small_repo: Path, llm: FakeOpenAI) -> None:
    run = run_cli(env={"REVIEWER_BASE_URL": llm.base_url})
    assert run.code == 3
    assert run.err.count("\n") == 1 and "OPENAI_API_KEY" in run.err
    assert not llm.requests


# --------------------------------------------------------------------------- held-out samples
#
# Written after the redactor and its corpus (tests/data/secrets), by someone else, and measured
# once before any tuning: 43/45 secrets (the two misses are the last two `generic-secret`
# forms below, since covered) and 0/42 look-alikes flagged. Values come from a seeded RNG in
# each provider's format.

_ALNUM = string.ascii_letters + string.digits


def _held_out() -> tuple[list[tuple[str, str, tuple[str, ...]]], list[str]]:
    rng = random.Random(555)

    def rs(n: int, chars: str = _ALNUM) -> str:
        kinds = [k for k in (str.isdigit, str.isupper, str.islower) if any(map(k, chars))]
        while True:
            value = "".join(rng.choice(chars) for _ in range(n))
            if all(any(map(k, value)) for k in kinds):
                return value

    def akia() -> str:
        return "AKIA" + rs(16, string.ascii_uppercase + "234567")

    def jwt() -> str:
        head = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').decode().rstrip("=")
        body = json.dumps({"sub": rs(8), "exp": 1893456000}).encode()
        return f"{head}.{base64.urlsafe_b64encode(body).decode().rstrip('=')}.{rs(43)}"

    pos: list[tuple[str, str, tuple[str, ...]]] = []

    def p(kind: str, template: str, *values: str) -> None:
        pos.append((kind, template.format(*values), values))

    p("aws-access-key-id", '  AWS_ACCESS_KEY_ID: "{}"', akia())
    p("aws-access-key-id", "aws configure set aws_access_key_id {}", akia())
    p("aws-secret-access-key", "aws_secret_access_key={}", rs(40, _ALNUM + "+/"))
    p("aws-secret-access-key", '    secretAccessKey: "{}",', rs(40, _ALNUM + "+/"))
    p("github-token", "git clone https://{}@github.com/acme/private.git", "ghp_" + rs(36))
    p("github-token", 'new Octokit({{ auth: "{}" }});', "gho_" + rs(36))
    p("github-token", "echo {} | gh auth login --with-token", f"github_pat_{rs(22)}_{rs(59)}")
    p("gitlab-token", 'GITLAB_TOKEN="{}"', "glpat-" + rs(20))
    slack = f"xoxb-{rs(12, string.digits)}-{rs(13, string.digits)}-{rs(24)}"
    p("slack-token", "client = WebClient(token='{}')", slack)
    room = f"T{rs(8, string.ascii_uppercase + string.digits)}/B{rs(8, string.digits)}"
    p("slack-webhook", 'SLACK_URL = "https://hooks.slack.com/services/' + room + '/{}"', rs(24))
    p("stripe-key", "stripe.api_key = '{}'", "sk_" + "live_" + rs(24))
    p("stripe-key", "STRIPE_RESTRICTED={}", "rk_" + "live_" + rs(24))
    p("google-api-key", '<meta name="maps-key" content="{}">', "AIza" + rs(35, _ALNUM + "-_"))
    p("openai-key", 'OpenAI(api_key="{}")', "sk-proj-" + rs(48, _ALNUM + "-_"))
    p("openai-key", "OPENAI_API_KEY={}", "sk-" + rs(48))
    p("anthropic-key", 'Anthropic(api_key="{}")', "sk-ant-api03-" + rs(80, _ALNUM + "-_"))
    p("huggingface-token", "huggingface-cli login --token {}", "hf_" + rs(34, string.ascii_letters))
    p("npm-token", "//registry.npmjs.org/:_authToken={}", "npm_" + rs(36))
    p("pypi-token", "password = {}", "pypi-AgEIcHlwaS5vcmc" + rs(60, _ALNUM + "-_"))
    p("sendgrid-key", "SendGridAPIClient('{}')", f"SG.{rs(22)}.{rs(43)}")
    p("jwt", "curl -H 'Authorization: Bearer {}' https://api.acme.io/v1/me", jwt())
    p("jwt", '    id_token = "{}"', jwt())
    p("url-password", "REDIS_URL=redis://:{}@cache.internal:6379/0", rs(14))
    p("url-password", 'mongo = "mongodb+srv://admin:{}@cluster0.ab1cd.mongodb.net/prod"', rs(12))
    p("url-password", "amqp://worker:{}@rabbit:5672//", rs(10))
    p("url-password", "pip install -i https://deploy:{}@pypi.acme.internal/simple x", rs(16))
    p("bearer-token", 'headers = {{"Authorization": "Bearer {}"}}', rs(32, _ALNUM + "._-"))
    basic = base64.b64encode(f"deploy:{rs(14)}".encode()).decode()
    p("basic-auth", "Authorization: Basic {}", basic)
    p("generic-secret", 'DB_PASSWORD: "{}"', rs(20))
    p("generic-secret", "export API_KEY={}", rs(24))
    p("generic-secret", "$db_password = '{}';", rs(18, _ALNUM + "!@#%^&*"))
    p("generic-secret", '  "client_secret": "{}",', rs(32))
    p("generic-secret", "ENCRYPTION_KEY = b'{}'", rs(16))
    p("generic-secret", "app.config['SECRET_KEY'] = '{}'", rs(22))
    p("generic-secret", '    private static final String API_KEY = "{}";', rs(20))
    p("generic-secret", 'let password = "{}"', rs(14))
    p("generic-secret", "auth_token: {}", rs(26))
    p("generic-secret", 'signing_key => "{}",', rs(30, _ALNUM + "/+"))
    p("generic-secret", "mysql -u root --password {} app", rs(12))
    p("generic-secret", '{{"access_key": "{}"}}', rs(28))
    p("generic-secret", '<add key="ApiKey" value="{}" />', rs(20))
    p("generic-secret", 'os.environ.setdefault("DB_PASSWORD", "{}")', rs(18))
    body = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(2)]
    begin, end = "-----BEGIN OPENSSH PRIVATE " + "KEY-----", "-----END OPENSSH PRIVATE KEY-----"
    p("private-key", "\n".join([begin, "{}", "{}", end]), *body)
    p("private-key", '{{"private_key": "' + begin + "\\n{}\\n{}\\n" + end + '\\n"}}', *body)
    ec_begin, ec_end = "-----BEGIN EC PRIVATE " + "KEY-----", "-----END EC PRIVATE KEY-----"
    p("private-key", f'KEY = (\n    "{ec_begin}\\n"\n    "{{}}\\n"\n    "{ec_end}\\n"\n)', body[0])

    neg = [
        "password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt())",
        "if not verify_token(request.headers.get('Authorization')):",
        "token_count = len(tokenizer.encode(text))",
        "max_tokens: int = 4096",
        'API_KEY_HEADER = "X-Api-Key"',
        'secret = get_secret("prod/db/password")',
        'password = getpass.getpass("Password: ")',
        "self.secret_key = secret_key or os.urandom(32)",
        "const token = localStorage.getItem('token');",
        "KEY = 'user:%s:profile' % user_id",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
        'sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
        'resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#679591c564c3bff"',
        'id = "6fa459ea-ee8a-3ca4-894e-db77e160355e"',
        '"version": "3.12.0-rc.1+build.20240101"',
        "color: #3b82f6;",
        'url = "https://example.com/api/v1/users?page=2&per_page=50"',
        "postgres://postgres:postgres@localhost:5432/test",
        "DATABASE_URL=postgres://user:${DB_PASSWORD}@db:5432/app",
        "password: ${{ secrets.DB_PASSWORD }}",
        'SECRET_KEY = os.environ["SECRET_KEY"]',
        "api_key = settings.OPENAI_API_KEY",
        'token = request.cookies.get("session_token")',
        '    assert response.json()["token_type"] == "bearer"',
        "# Set your password in ~/.netrc or use a token (see docs/auth.md).",
        'help="The API key to use (default: $OPENAI_API_KEY)"',
        "private_key_path = Path.home() / '.ssh' / 'id_ed25519'",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl u@h",
        "-----BEGIN CERTIFICATE-----",
        'src = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"',
        'integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"',
        'token = "<your-token-here>"',
        'password = "hunter2"',
        'API_KEY = "sk-..."',
        "stripe.api_key = 'sk_test_...'",
        'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
        "Bearer token authentication is described in RFC 6750.",
        "const SECRET_ROTATION_DAYS = 90;",
        'tokens = ["if", "else", "while", "for", "return"]',
        'password_field = driver.find_element(By.ID, "password")',
        'os.environ.get("API_KEY", "")',
        'echo "$REGISTRY_PASSWORD" | docker login -u "$REGISTRY_USER" --password-stdin',
    ]
    return pos, neg


HELD_OUT, LOOK_ALIKES = _held_out()


def test_held_out_secrets_are_redacted() -> None:
    assert len(HELD_OUT) == 45 and len({kind for kind, _, _ in HELD_OUT}) == 20
    missed = []
    for kind, text, values in HELD_OUT:
        out, _found = redact_text(text)
        if f"[REDACTED:{kind}]" not in out or any(v in out for v in values):
            missed.append(out)
    assert missed == []


def test_held_out_look_alikes_are_untouched() -> None:
    assert len(LOOK_ALIKES) == 42
    assert [line for line in LOOK_ALIKES if redact_text(line)[1]] == []
