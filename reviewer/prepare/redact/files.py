"""Files that are secret by nature: never sent, whatever their content."""

from __future__ import annotations

from pathlib import PurePosixPath

_SECRET_NAMES = frozenset(
    {
        ".netrc",
        "_netrc",
        ".npmrc",  # registry auth tokens (_authToken, _auth); the rest is rarely worth a review
        ".pypirc",
        ".git-credentials",
        ".pgpass",
        ".htpasswd",
        ".s3cfg",
        ".boto",
        ".dockercfg",
        "credentials.json",  # Google OAuth client / service account downloads
        "secrets.toml",  # Streamlit's .streamlit/secrets.toml
        "terraform.tfstate",  # resource attributes in plain text, passwords included
        "terraform.tfstate.backup",
        "kubeconfig",
    }
)
_SECRET_SUFFIXES = (
    ".pem",
    ".key",
    ".p12",
    ".pfx",
    ".pkcs12",
    ".p8",
    ".jks",
    ".bks",
    ".keystore",
    ".kdbx",
    ".ppk",  # PuTTY private keys
    ".keytab",
    ".tfstate",
)
_SSH_KEY_PREFIXES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
_ENV_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
# A file named `config` or `config.json` is secret only in these directories.
_SECRET_IN_DIR = {"credentials": ".aws", "config": ".kube", "config.json": ".docker"}


def is_secret_file(path: str) -> bool:
    """Whether a file is secret by nature and must never be sent, whatever its content."""
    pure = PurePosixPath(path.replace("\\", "/"))
    name = pure.name.lower()
    if name == ".env" or (name.startswith(".env.") and name not in _ENV_TEMPLATES):
        return True
    if name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES):
        return True
    if name.startswith("client_secret") and name.endswith(".json"):
        return True
    if _SECRET_IN_DIR.get(name) == pure.parent.name:
        return True
    # id_rsa, id_rsa.old...; the .pub half is public and harmless to send.
    return name.startswith(_SSH_KEY_PREFIXES) and not name.endswith(".pub")
