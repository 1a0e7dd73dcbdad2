"""Configuration through the CLI: command line > ``REVIEWER_*`` environment > project file
(``.reviewer.toml`` or ``[tool.reviewer]`` in ``pyproject.toml``) > defaults, each value with
its source in ``review --show-config``; what the effective settings do to a real request;
and the file that must never hold an API key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TEST_KEY, chunk_files, clean_answer
from fake_openai import FakeOpenAI
from gitrepo import commit, git, write
from test_cli import change, lines, review

from reviewer.app.config import read_config_file, resolve_settings
from reviewer.core.errors import ConfigError


def show_config(*args: str, env: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """``review --show-config`` as {name: (json value, source)}, plus ``#file``."""
    run = review("--show-config", *args, env=env)
    assert run.code == 0, run.err
    header, *rows = run.out.splitlines()
    assert header.startswith("# config file: ")
    shown = {"#file": (header.removeprefix("# config file: "), "")}
    for row in rows:
        name, _, rest = row.partition(" = ")
        value, _, source = rest.rpartition("  # ")
        shown[name.strip()] = (value.strip(), source)
    return shown


@pytest.fixture
def project(repo: Path) -> Path:
    write(repo, "a.py", lines(10, "a"))
    commit(repo)
    return repo


# --------------------------------------------------------------------------- precedence


def test_each_layer_wins_over_the_next(project: Path) -> None:
    shown = show_config()
    assert shown["#file"] == ("none found", "")
    assert shown["model"] == ("null", "default")
    assert shown["effective-model"] == ('"gpt-4o-mini"', "provider preset")
    assert shown["temperature"] == ("0.2", "default")

    pyproject = project / "pyproject.toml"
    write(project, "pyproject.toml", '[tool.reviewer]\nmodel = "file-model"\ntemperature = 0.7\n')
    shown = show_config()
    assert shown["#file"] == (str(pyproject), "")
    assert shown["model"] == ('"file-model"', str(pyproject))
    assert shown["effective-model"] == ('"file-model"', str(pyproject))
    assert shown["temperature"] == ("0.7", str(pyproject))

    env = {"REVIEWER_MODEL": "env-model"}
    shown = show_config(env=env)
    assert shown["model"] == ('"env-model"', "env REVIEWER_MODEL")
    assert shown["temperature"] == ("0.7", str(pyproject))  # the file still sets the rest

    shown = show_config("--model", "cli-model", env=env)
    assert shown["model"] == ('"cli-model"', "command line")
    assert shown["effective-model"] == ('"cli-model"', "command line")


def test_reviewer_toml_is_preferred_and_found_from_a_subdirectory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, "pyproject.toml", '[tool.reviewer]\nlanguage = "de"\n')
    write(project, ".reviewer.toml", 'language = "zh"\n')
    (project / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(project / "src" / "deep")
    shown = show_config()
    dedicated = str(project / ".reviewer.toml")
    assert shown["#file"] == (dedicated, "")
    assert shown["language"] == ('"zh"', dedicated)

    # --config names another file; a pyproject.toml without [tool.reviewer] is not one.
    write(project, "other.toml", "[tool.reviewer]\nmax-findings = 7\n")
    shown = show_config("--config", str(project / "other.toml"))
    assert shown["max-findings"] == ("7", str(project / "other.toml"))
    assert shown["language"] == ('"en"', "default")


def test_the_api_key_is_shown_as_its_variable_never_its_value(project: Path) -> None:
    shown = show_config(env={"OPENAI_API_KEY": TEST_KEY})  # review() checks the output
    assert shown["api-key"] == ('"$OPENAI_API_KEY (set)"', "environment only")
    assert show_config()["api-key"] == ('"$OPENAI_API_KEY (not set)"', "environment only")
    shown = show_config("--provider", "ollama")
    assert shown["api-key"] == ('"not needed"', "environment only")


def test_effective_settings_reach_the_request(project: Path, llm: FakeOpenAI) -> None:
    write(
        project,
        "pyproject.toml",
        '[tool.reviewer]\nmodel = "file-model"\ntemperature = 0.7\ncontext-lines = 1\n'
        'context = "lines"\n',
    )
    change(project, "a.py")
    git(project, "add", "a.py")
    llm.default = clean_answer
    assert review("--no-cache", server=llm).code == 0
    assert review("--no-cache", server=llm, env={"REVIEWER_TEMPERATURE": "0.1"}).code == 0
    assert review("--no-cache", "--temperature", "0", server=llm).code == 0
    from_file, from_env, from_cli = (r.body for r in llm.requests)
    assert from_file["model"] == "file-model"
    assert [b["temperature"] for b in (from_file, from_env, from_cli)] == [0.7, 0.1, 0.0]
    user = llm.requests[0].messages[-1]["content"]
    # context-lines = 1: one line of context each side of the change (lines 5 and 7); the
    # context setting "lines" adds nothing around it.
    assert [ln.split("|")[0].strip() for ln in user.splitlines() if "|" in ln] == [
        "5",
        "6 +",
        "7",
    ]
    assert chunk_files(llm.requests[0]) == {"a.py": [6]}


def test_env_lists_and_flags(project: Path) -> None:
    shown = show_config(
        env={
            "REVIEWER_EXCLUDE": "docs/** *.md",
            "REVIEWER_CACHE": "false",
            "REVIEWER_FAIL_ON": "never",
        }
    )
    assert shown["exclude"] == ('["docs/**", "*.md"]', "env REVIEWER_EXCLUDE")
    assert shown["cache"] == ("false", "env REVIEWER_CACHE")
    assert shown["fail-on"] == ("null", "env REVIEWER_FAIL_ON")


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("key", ["api-key", "api_key", "openai-api-key", "token"])
def test_an_api_key_in_a_config_file_is_refused(project: Path, key: str) -> None:
    secret = "sk-in-the-config-file-0123456789"
    write(project, ".reviewer.toml", f'{key} = "{secret}"\n')
    run = review("--show-config")
    assert run.code == 2
    assert f"'{key}' is not allowed: API keys are read only from the environment" in run.err
    assert secret not in run.out + run.err


def test_config_errors_name_the_file_and_the_setting(project: Path) -> None:
    write(project, "pyproject.toml", "[tool.reviewer]\nmax-finding = 3\n")
    run = review("--show-config")
    assert run.code == 2
    assert "pyproject.toml: unknown setting 'max-finding' (did you mean 'max-findings'?)" in run.err

    write(project, "pyproject.toml", "[tool.reviewer\n")
    run = review("--show-config")
    assert run.code == 2
    assert "invalid TOML" in run.err

    write(project, "pyproject.toml", "[tool.reviewer]\nmin-confidence = 2\n")
    run = review("--show-config")
    assert run.code == 2
    assert "invalid setting min-confidence=2 (from " in run.err


# --------------------------------------------------------------------------- the library


def test_resolve_settings_layers_and_labels(tmp_path: Path) -> None:
    config = tmp_path / ".reviewer.toml"
    config.write_text('fail-on = false\ninclude = "src/**, lib/**"\njobs = 2\n')
    values = read_config_file(config)
    resolved = resolve_settings({"jobs": (8, "command line")}, values, str(config))
    assert resolved.settings.fail_on is None
    assert resolved.settings.include == ("src/**", "lib/**")
    assert resolved.settings.jobs == 8
    assert resolved.sources["jobs"] == "command line"
    assert resolved.sources["include"] == str(config)
    assert resolved.sources["timeout"] == "default"
    with pytest.raises(ConfigError, match="invalid setting jobs=0"):
        resolve_settings({}, {"jobs": 0}, str(config))
