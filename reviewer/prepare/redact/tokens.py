"""Self-identifying tokens: credentials whose format names their issuer (a prefix, a length,
a charset), redacted wherever they appear, whatever the name around them.

Formats are the issuers' documented ones, as public secret-scanning rule sets (gitleaks,
detect-secrets, GitHub secret scanning) record them. Order matters: on overlapping matches
the earlier rule wins, so specific formats come before general ones.
"""

from __future__ import annotations

from reviewer.prepare.redact import checks
from reviewer.prepare.redact.model import BASE64_CHARS, BODY_CHARS, Found, Rule, Validator

_AWS_ID_PREFIXES = (
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",
    "AGPA",
    "AIDA",
    "AROA",
    "ANPA",
    "ANVA",
    "APKA",
    "A3T",
)
_GITLAB_PREFIXES = (
    "glpat-",
    "glptt-",
    "gldt-",
    "glrt-",
    "glcbt-",
    "glsoat-",
    "glffct-",
    "glimt-",
    "glft-",
    "glagent-",
    "gloas-",
)
_END = r"(?![A-Za-z0-9_-])"
# A token's body: 16+ characters from [A-Za-z0-9_~-], or from base64's alphabet.
_TOKEN_RUN = (BODY_CHARS, 16)
_BASE64_RUN = (BASE64_CHARS, 16)


def _not_example(found: Found) -> bool:
    # AWS's documented examples (AKIAIOSFODNN7EXAMPLE, wJalr...EXAMPLEKEY) are public.
    return "EXAMPLE" not in found.value


def _mixed_body(found: Found) -> bool:
    return checks.mixed_alnum(found.match.group("v"))


def _random_body(found: Found) -> bool:
    return checks.random_body(found.match.group("v"))


def _letters_and_digits(found: Found) -> bool:
    body = found.match.group("v")
    return any(c.isdigit() for c in body) and any(c.isalpha() for c in body)


def _random_letters(found: Found) -> bool:
    # Hugging Face tokens are letters only; names like hf_modelconfiguration... are one case.
    v = found.match.group("v")
    return (
        any(c.isupper() for c in v)
        and any(c.islower() for c in v)
        and checks.shannon_entropy(v) >= 3.5
    )


def _not_mask(found: Found) -> bool:
    """ghp_xxxx..., sk-****...: a placeholder with a token's prefix, not a token."""
    tail = found.value[-16:]
    return len(set(tail.lower())) > 3


def _all(*validators: Validator) -> Validator:
    return lambda found: all(v(found) for v in validators)


def _rule(
    family: str,
    pattern: str,
    description: str,
    needles: tuple[str, ...],
    validator: Validator | None = None,
    *,
    group: str = "secret",
    run: tuple[str, int] | None = _TOKEN_RUN,
) -> Rule:
    return Rule(
        family,
        "secret",
        pattern,
        description,
        _all(_not_mask, validator) if validator else _not_mask,
        needles=needles,
        group=group,
        run=run,
    )


TOKENS: tuple[Rule, ...] = (
    _rule(
        "anthropic-key",
        r"\bsk-ant-[A-Za-z0-9_-]{32,}",
        "Anthropic API and admin keys (sk-ant-api03-..., sk-ant-admin01-...).",
        ("sk-ant-",),
    ),
    _rule(
        "openai-key",
        r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?(?P<v>[A-Za-z0-9_-]{20,})" + _END,
        "OpenAI keys: sk-proj-, sk-svcacct-, sk-admin- and the legacy sk- + 48 mixed-case "
        "characters (Moonshot and others use the same shape).",
        ("sk-",),
        _mixed_body,
        group="0",
    ),
    _rule(
        "sk-api-key",
        r"\bsk-(?:or-v1-)?(?P<v>[A-Za-z0-9]{32,})" + _END,
        "sk- keys of OpenAI-compatible providers in one case: DeepSeek and DashScope (Qwen) "
        "sk- + 32 hex, SiliconFlow (lowercase), OpenRouter sk-or-v1-.",
        ("sk-",),
        _random_body,
        group="0",
    ),
    _rule(
        "github-token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})\b",
        "GitHub tokens: classic (ghp_), OAuth (gho_), user-to-server (ghu_), server-to-server "
        "(ghs_), refresh (ghr_), fine-grained (github_pat_).",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        group="0",
    ),
    _rule(
        "gitlab-token",
        r"\b(?:gl(?:pat|ptt|dt|rt|cbt|soat|ffct|imt|ft|agent|oas)-[A-Za-z0-9_-]{20,}"
        r"(?:\.[A-Za-z0-9_-]+)*|GR1348941[A-Za-z0-9_-]{20})" + _END,
        "GitLab tokens: personal, project, deploy, runner, CI job, SCIM, feed, agent, OAuth "
        "application secrets, runner registration.",
        (*_GITLAB_PREFIXES, "gr1348941"),
        group="0",
    ),
    _rule(
        "slack-token",
        r"\b(?:(?:xoxe\.)?xox[abpsrceo]-(?=[0-9A-Za-z-]*[0-9])[0-9A-Za-z-]{10,}"
        r"|xapp-[0-9]-[0-9A-Za-z-]{10,})",
        "Slack bot, user, app, workspace, config and refresh tokens (xoxb-, xoxp-, xapp-, ...).",
        ("xox", "xapp-"),
        group="0",
    ),
    _rule(
        "slack-webhook",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9/_+-]{20,})",
        "The secret path of a Slack incoming webhook.",
        ("hooks.slack.com/",),
    ),
    _rule(
        "discord-webhook",
        r"discord(?:app)?\.com/api/webhooks/\d{5,30}/(?P<secret>[A-Za-z0-9_-]{60,80})",
        "The token of a Discord webhook URL.",
        ("discord",),
    ),
    _rule(
        "stripe-key",
        r"\b(?:(?:sk|rk)_(?:live|test|prod)_[0-9A-Za-z]{10,247}|whsec_[0-9A-Za-z]{32,})\b",
        "Stripe secret and restricted keys (live and test mode) and webhook signing secrets. "
        "Publishable keys (pk_) are public.",
        ("_live_", "_test_", "_prod_", "whsec_"),
        group="0",
    ),
    _rule(
        "google-api-key",
        r"\bAIza[0-9A-Za-z_-]{35}" + _END,
        "Google API keys (AIza...).",
        ("aiza",),
        group="0",
    ),
    _rule(
        "google-oauth",
        r"\b(?:GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{30,}|1//0[A-Za-z0-9_-]{40,})" + _END,
        "Google OAuth client secrets (GOCSPX-), access tokens (ya29.) and refresh tokens (1//0).",
        ("gocspx-", "ya29.", "1//0"),
        group="0",
    ),
    _rule(
        "huggingface-token",
        r"\b(?:hf|api_org)_(?P<v>[A-Za-z0-9]{34,40})\b",
        "Hugging Face user and organization tokens.",
        ("hf_", "api_org_"),
        _random_letters,
        group="0",
    ),
    _rule("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b", "npm access tokens.", ("npm_",), group="0"),
    _rule(
        "pypi-token",
        r"\bpypi-AgE[A-Za-z0-9_-]{50,}",
        "PyPI upload tokens (macaroons).",
        ("pypi-age",),
        group="0",
    ),
    _rule(
        "rubygems-key",
        r"\brubygems_[0-9a-f]{48}\b",
        "RubyGems API keys.",
        ("rubygems_",),
        group="0",
    ),
    _rule(
        "nuget-key",
        r"\boy2(?P<v>[a-z0-9]{43})\b",
        "NuGet API keys.",
        ("oy2",),
        _letters_and_digits,
        group="0",
    ),
    _rule(
        "docker-hub-token",
        r"\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{20,}",
        "Docker Hub personal and organization access tokens.",
        ("dckr_",),
        group="0",
    ),
    _rule(
        "sendgrid-key",
        r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _END,
        "SendGrid API keys.",
        ("sg.",),
        group="0",
    ),
    Rule(
        "twilio-key",
        "secret",
        r"\bSK(?P<v>[0-9a-fA-F]{32})\b",
        "Twilio API keys (SK + 32 hex).",
        _letters_and_digits,
        group="0",
        # "sk" is in too many words to be a needle: the key's body is the gate.
        run=("0123456789abcdefABCDEF", 32),
    ),
    _rule(
        "mailchimp-key",
        r"\b[0-9a-f]{32}-us\d{1,2}\b",
        "Mailchimp API keys (32 hex + data centre).",
        ("-us",),
        group="0",
    ),
    _rule(
        "shopify-token",
        r"\bshp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}\b",
        "Shopify access tokens and shared secrets.",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
        group="0",
    ),
    _rule(
        "square-token",
        r"\b(?:sq0(?:atp|csp)-[A-Za-z0-9_-]{22,60}|EAAA[A-Za-z0-9_-]{60})" + _END,
        "Square access tokens and OAuth secrets.",
        ("sq0atp-", "sq0csp-", "eaaa"),
        group="0",
    ),
    _rule(
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}" + _END,
        "JSON Web Tokens (signed): session and ID tokens, service credentials.",
        ("eyj",),
        group="0",
    ),
    _rule(
        "aws-access-key-id",
        r"\b(?P<secret>(?:" + "|".join(_AWS_ID_PREFIXES) + r")[A-Z0-9]{16})\b",
        "AWS access key ids (AKIA, ASIA, ...); AWS's documented EXAMPLE keys are public.",
        tuple(p.lower() for p in _AWS_ID_PREFIXES),
        _not_example,
    ),
    _rule(
        "azure-storage-key",
        r"(?i:AccountKey)\s*=\s*(?P<secret>[A-Za-z0-9+/]{86}==)",
        "Azure storage account keys in connection strings.",
        ("accountkey",),
        run=_BASE64_RUN,
    ),
    _rule(
        "azure-ad-client-secret",
        r"(?:^|(?<=[\\'\"`\s>=:(,)]))(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})"
        r"(?=$|[\\'\"`\s<),;])",
        "Microsoft Entra ID (Azure AD) application client secrets (xxx8Q~...).",
        ("q~",),
        run=None,
    ),
    _rule(
        "azure-sas-signature",
        r"[?&;]sig=(?P<secret>[A-Za-z0-9%+/=]{30,})",
        "The signature of an Azure shared access signature (SAS) URL or token.",
        ("sig=",),
        run=None,
    ),
    _rule(
        "alibaba-access-key-id",
        r"\bLTAI(?P<v>[A-Za-z0-9]{12,20})\b",
        "Alibaba Cloud AccessKey ids (LTAI...).",
        ("ltai",),
        _random_body,
        group="0",
    ),
    _rule(
        "tencent-secret-id",
        r"\bAKID(?P<v>[A-Za-z0-9]{32})\b",
        "Tencent Cloud SecretIds (AKID...).",
        ("akid",),
        _random_body,
        group="0",
    ),
    _rule(
        "baidu-access-key",
        r"\b(?:bce-v3/ALTAK-[A-Za-z0-9]{10,40}/[0-9a-f]{40}|ALTAK(?P<v>[A-Za-z0-9]{16,40}))\b",
        "Baidu AI Cloud access keys (ALTAK...) and Qianfan API keys (bce-v3/ALTAK-.../...).",
        ("altak",),
        group="0",
    ),
    _rule(
        "volcengine-access-key",
        r"\bAKLT(?P<v>[A-Za-z0-9_-]{20,64})" + _END,
        "Volcengine (ByteDance cloud, Doubao/Ark) access key ids (AKLT...).",
        ("aklt",),
        _random_body,
        group="0",
    ),
    _rule(
        "digitalocean-token",
        r"\bdo[opr]_v1_[0-9a-f]{64}\b",
        "DigitalOcean personal, OAuth and refresh tokens.",
        ("_v1_",),
        group="0",
    ),
    _rule(
        "databricks-token",
        r"\bdapi[0-9a-f]{32}(?:-\d)?\b",
        "Databricks personal access tokens.",
        ("dapi",),
        group="0",
    ),
    _rule(
        "vault-token",
        r"\bhv[sbr]\.[A-Za-z0-9_-]{24,}",
        "HashiCorp Vault service, batch and recovery tokens.",
        ("hvs.", "hvb.", "hvr."),
        group="0",
    ),
    _rule(
        "terraform-token",
        r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}",
        "Terraform Cloud / HCP Terraform API tokens.",
        ("atlasv1",),
        group="0",
    ),
    _rule(
        "doppler-token",
        r"\bdp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,44}\b",
        "Doppler tokens.",
        ("dp.",),
        group="0",
    ),
    _rule(
        "postman-key",
        r"\bPMAK-[0-9a-f]{24}-[0-9a-f]{34}\b",
        "Postman API keys.",
        ("pmak-",),
        group="0",
    ),
    _rule(
        "grafana-token",
        r"\b(?:glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"
        r"|eyJrIjoi[A-Za-z0-9]{70,400}={0,3})",
        "Grafana Cloud tokens, service account tokens and API keys.",
        ("glc_", "glsa_", "eyjrijoi"),
        group="0",
        run=_BASE64_RUN,
    ),
    _rule(
        "newrelic-key",
        r"\bNR(?:AK|II|JS|RA)-[A-Za-z0-9]{19,32}\b",
        "New Relic user, insert, browser and REST API keys.",
        ("nrak-", "nrii-", "nrjs-", "nrra-"),
        group="0",
    ),
    _rule(
        "sentry-token",
        r"\bsntry[us]_[A-Za-z0-9+/=_]{40,}",
        "Sentry organization and user auth tokens.",
        ("sntry",),
        group="0",
        run=_BASE64_RUN,
    ),
    _rule(
        "telegram-bot-token",
        r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}" + _END,
        "Telegram bot tokens.",
        (":aa",),
        group="0",
    ),
    _rule(
        "linear-key",
        r"\blin_(?:api|oauth)_[A-Za-z0-9]{40}\b",
        "Linear API keys.",
        ("lin_",),
        group="0",
    ),
    _rule(
        "notion-token",
        r"\b(?:ntn_[A-Za-z0-9]{40,50}|secret_(?P<v>[A-Za-z0-9]{43}))\b",
        "Notion integration tokens.",
        ("ntn_", "secret_"),
        group="0",
    ),
    _rule(
        "atlassian-token",
        r"\b(?:ATATT3[A-Za-z0-9_=-]{150,250}|ATBB[A-Za-z0-9]{32})" + _END,
        "Atlassian API tokens and Bitbucket app passwords.",
        ("atatt3", "atbb"),
        group="0",
    ),
    _rule(
        "heroku-key",
        r"\bHRKU-[A-Za-z0-9_-]{20,}",
        "Heroku API keys.",
        ("hrku-",),
        group="0",
    ),
    _rule(
        "age-secret-key",
        r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b",
        "age encryption secret keys.",
        ("age-secret-key-1",),
        group="0",
    ),
    _rule(
        "planetscale-token",
        r"\bpscale_(?:tkn|pw|oauth)_[A-Za-z0-9_=.-]{32,64}",
        "PlanetScale tokens and passwords.",
        ("pscale_",),
        group="0",
    ),
    _rule(
        "supabase-token",
        r"\b(?:sbp_[0-9a-f]{40}|sb_secret_[A-Za-z0-9_-]{20,})" + _END,
        "Supabase access tokens and secret keys.",
        ("sbp_", "sb_secret_"),
        group="0",
    ),
    _rule(
        "pulumi-token",
        r"\bpul-[0-9a-f]{40}\b",
        "Pulumi access tokens.",
        ("pul-",),
        group="0",
    ),
    _rule(
        "replicate-token",
        r"\br8_[A-Za-z0-9]{37}\b",
        "Replicate API tokens.",
        ("r8_",),
        group="0",
    ),
    _rule(
        "groq-key",
        r"\bgsk_[A-Za-z0-9]{52}\b",
        "Groq API keys.",
        ("gsk_",),
        group="0",
    ),
    _rule(
        "xai-key",
        r"\bxai-[A-Za-z0-9]{80}\b",
        "xAI API keys.",
        ("xai-",),
        group="0",
    ),
    _rule(
        "perplexity-key",
        r"\bpplx-[A-Za-z0-9]{48}\b",
        "Perplexity API keys.",
        ("pplx-",),
        group="0",
    ),
    _rule(
        "sonar-token",
        r"\bsq[upa]_[0-9a-f]{40}\b",
        "SonarQube / SonarCloud tokens.",
        ("squ_", "sqp_", "sqa_"),
        group="0",
    ),
    _rule(
        "dropbox-token",
        r"\bsl\.[A-Za-z0-9_-]{130,}",
        "Dropbox short-lived access tokens.",
        ("sl.",),
        group="0",
    ),
    _rule(
        "mapbox-secret",
        r"\bsk\.eyJ[A-Za-z0-9_-]{50,}\.[A-Za-z0-9_-]{20,}",
        "Mapbox secret tokens (sk.; pk. tokens are public).",
        ("sk.eyj",),
        group="0",
    ),
    _rule(
        "flyio-token",
        r"\b(?:fo1_[A-Za-z0-9_-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})",
        "Fly.io access tokens.",
        ("fo1_", "fm1", "fm2"),
        group="0",
        run=_BASE64_RUN,
    ),
    _rule(
        "artifactory-key",
        r"\bAKCp[A-Za-z0-9]{69}\b",
        "JFrog Artifactory API keys.",
        ("akcp",),
        group="0",
    ),
    _rule(
        "facebook-token",
        r"\bEAA[MC][A-Za-z0-9]{100,}\b",
        "Facebook / Meta page and app access tokens.",
        ("eaam", "eaac"),
        group="0",
    ),
    _rule(
        "cloudflare-origin-ca-key",
        r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b",
        "Cloudflare Origin CA keys.",
        ("v1.0-",),
        group="0",
    ),
    _rule(
        "openshift-token",
        r"\bsha256~[A-Za-z0-9_-]{43}" + _END,
        "OpenShift user tokens (sha256~...: a token, not a hash).",
        ("sha256~",),
        group="0",
    ),
    _rule(
        "onepassword-token",
        r"\bops_eyJ[A-Za-z0-9+/]{250,}={0,3}",
        "1Password service account tokens.",
        ("ops_eyj",),
        group="0",
        run=_BASE64_RUN,
    ),
)
