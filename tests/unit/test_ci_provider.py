"""The CI provider registry (entry points), repository detection, sealing and rate-limit parsing."""

from __future__ import annotations

import subprocess
from base64 import b64decode, b64encode

import pytest

from stagecraft.ci import get_provider, provider_names
from stagecraft.ci.github import GitHubProvider, api
from stagecraft.errors import UserError


def test_github_is_registered_as_an_entry_point():
    assert "github" in provider_names()
    assert isinstance(get_provider("github"), GitHubProvider)


def test_unknown_provider_names_the_registered_ones():
    with pytest.raises(UserError) as exc:
        get_provider("gitlab")
    assert "no CI provider 'gitlab'" in exc.value.message and "github" in exc.value.message


@pytest.mark.parametrize("url", ["git@github.com:acme/shop.git", "https://github.com/acme/shop.git",
                                 "https://github.com/acme/shop", "ssh://git@github.com/acme/shop.git/"])
def test_repository_from_the_origin_remote(tmp_path, url):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", url], check=True)
    assert api.repository_from_git(tmp_path) == "acme/shop"


def test_no_remote_is_a_user_error(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(UserError) as exc:
        api.repository_from_git(tmp_path)
    assert "ci.github.repository" in exc.value.hint


def test_sealed_value_opens_only_with_the_private_key():
    from nacl.public import PrivateKey, SealedBox

    key = PrivateKey.generate()
    sealed = api.seal(b64encode(bytes(key.public_key)).decode(), "s3cret")
    assert "s3cret" not in sealed
    assert SealedBox(key).decrypt(b64decode(sealed)) == b"s3cret"


def test_rate_limit_waits():
    import time

    assert api._rate_limit_wait(429, {"Retry-After": "7"}, {}) == 7
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 100)}
    assert 90 < api._rate_limit_wait(403, reset, {}) <= 100
    assert api._rate_limit_wait(403, {"X-RateLimit-Remaining": "12"}, {"message": "Resource not accessible"}) is None
    assert api._rate_limit_wait(404, {"Retry-After": "7"}, {}) is None


def test_plain_http_only_on_loopback():
    with pytest.raises(UserError):
        api.Client("acme/shop", "t", api_url="http://api.example.com")
    assert api.Client("acme/shop", "t", api_url="http://127.0.0.1:9/").api_url == "http://127.0.0.1:9"


def test_token_never_comes_from_anywhere_but_the_environment():
    assert api.token("MY_TOKEN", {"MY_TOKEN": "a", "GITHUB_TOKEN": "b"}) == "a"
    assert api.token("GITHUB_TOKEN", {"GH_TOKEN": "c"}) == "c"
    with pytest.raises(UserError) as exc:
        api.token("GITHUB_TOKEN", {})
    assert "GITHUB_TOKEN or GH_TOKEN" in exc.value.message
